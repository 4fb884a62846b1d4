/**
 * @mobkit/store — adapters behind core's storage ports.
 * @packageDocumentation
 */
export {};
