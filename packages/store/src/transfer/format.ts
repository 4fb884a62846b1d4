import { closedObject } from '@mobkit/core';
import { z } from 'zod';

/** The `format` of a store export's header line. */
export const STORE_EXPORT_FORMAT = 'mobkit-store-export';
/** The version of the export format this build writes and reads. */
export const STORE_EXPORT_VERSION = 1;

const name = z.string().min(1);
const ms = z.number().finite();
const json: z.ZodType<unknown> = z.unknown().refine((value) => value !== undefined, 'expected a JSON value');

/** The first line: what the file is and where it came from. */
export const headerLine = closedObject({
  type: z.literal('header'),
  format: z.literal(STORE_EXPORT_FORMAT),
  version: z.number().int(),
  source_kind: z.string(),
  source_location: z.string(),
  source_schema_version: z.number().int(),
  exported_at_ms: ms,
});

/** One event-log entry, with its seq. */
export const eventLine = closedObject({
  type: z.literal('event'),
  seq: z.number().int().min(1),
  id: name,
  timestamp_ms: ms,
  member_id: z.string().nullable(),
  kind: name,
  event_type: name,
  data: json,
});

/** One record of a namespace (its version is informational: an import starts it again at 1). */
export const recordLine = closedObject({
  type: z.literal('record'),
  namespace: name,
  key: name,
  value: json,
  version: z.number().int().min(1),
  updated_at_ms: ms,
  index: name.optional(),
  range: ms.optional(),
  text: z.string().optional(),
});

/** One live claim. */
export const claimLine = closedObject({
  type: z.literal('claim'),
  namespace: name,
  key: name,
  owner: name,
  claimed_at_ms: ms,
  expires_at_ms: ms.optional(),
});

/** The last line: how many of each kind came before it, so a cut-off file is caught. */
export const endLine = closedObject({
  type: z.literal('end'),
  events: z.number().int().min(0),
  records: z.number().int().min(0),
  claims: z.number().int().min(0),
});

/** The header line of an export. */
export type StoreExportHeader = z.output<typeof headerLine>;
/** An event line of an export. */
export type StoreExportEvent = z.output<typeof eventLine>;
/** A record line of an export. */
export type StoreExportRecord = z.output<typeof recordLine>;
/** A claim line of an export. */
export type StoreExportClaim = z.output<typeof claimLine>;
/** The end line of an export. */
export type StoreExportEnd = z.output<typeof endLine>;

/** How many lines of each kind an export wrote or an import read. */
export interface StoreTransferCounts {
  events: number;
  records: number;
  claims: number;
}
