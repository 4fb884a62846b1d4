import { wireCodec, wireEncoder } from '@mobkit/core';
import type { MemberSnapshot } from '@mobkit/mob-adapter';
import { z } from 'zod';

/** A member snapshot as the JSON-RPC methods return it (`runtimeMode` stays off the wire, as the original). */
export type MemberSnapshotView = Omit<MemberSnapshot, 'runtimeMode'>;

/** The snake_case wire form of a member snapshot (`labels` omitted when empty, `wired_to` sorted). */
const MemberSnapshotWireSchema = z.strictObject({
  meerkat_id: z.string(),
  profile: z.string(),
  state: z.enum(['active', 'retiring']),
  wired_to: z.array(z.string()),
  session_id: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** The codec between a member snapshot's wire form and {@link MemberSnapshotView}. */
export const MemberSnapshotCodec = wireCodec(MemberSnapshotWireSchema, {
  decode: (wire): MemberSnapshotView => ({
    meerkatId: wire.meerkat_id,
    profile: wire.profile,
    state: wire.state,
    sessionId: wire.session_id,
    wiredTo: [...wire.wired_to].sort(),
    labels: { ...(wire.labels ?? {}) },
  }),
  encode: (snapshot) => ({
    meerkat_id: snapshot.meerkatId,
    profile: snapshot.profile,
    state: snapshot.state,
    wired_to: [...snapshot.wiredTo].sort(),
    ...(snapshot.sessionId === undefined ? {} : { session_id: snapshot.sessionId }),
    ...(Object.keys(snapshot.labels ?? {}).length > 0 ? { labels: { ...snapshot.labels } } : {}),
  }),
});

/** A member snapshot on the wire (the encoder of {@link MemberSnapshotCodec}). */
export const memberSnapshotToWire: (snapshot: MemberSnapshotView) => z.input<typeof MemberSnapshotWireSchema> =
  wireEncoder(MemberSnapshotCodec);
