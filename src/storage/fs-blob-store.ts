// PLACEHOLDER: being written by the registry helper. Replace this whole file.
/** Filesystem blob store (placeholder). */
export class FsBlobStore {
  constructor(readonly root: string) {}
}
