export { type ExportStoreOptions, exportStore } from './export.js';
export {
  STORE_EXPORT_FORMAT,
  STORE_EXPORT_VERSION,
  type StoreExportClaim,
  type StoreExportEnd,
  type StoreExportEvent,
  type StoreExportHeader,
  type StoreExportRecord,
  type StoreTransferCounts,
} from './format.js';
export { type ImportStoreOptions, importStore } from './import.js';
