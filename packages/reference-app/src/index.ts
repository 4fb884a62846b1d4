/**
 * @mobkit/reference-app — the HTTP edge of MobKit-TS: health, the live console (page, JSON
 * contracts, SSE streams), interaction streams and JSON-RPC over HTTP, behind console auth. It takes
 * a runtime surface and an RPC handler; it never builds a runtime.
 * @packageDocumentation
 */
export type { ReferenceAppRuntimeSurface, SurfaceAgentEvent, SurfaceMember, SurfaceProfile } from './surface.js';
