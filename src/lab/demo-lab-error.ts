/** A demo lab that cannot start, said in one sentence with what to do about it. */
export class DemoLabError extends Error {
  override name = 'DemoLabError';
}
