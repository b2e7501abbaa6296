/** A rehearsal lab that cannot be built, started or reached, said in one sentence with what to do. */
export class LabError extends Error {
  override name = 'LabError';
}
