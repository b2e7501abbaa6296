// An effect as an XState promise actor that acts only once the state that started it is
// saved: the run gathers the machine's changes into one save (run.ts), and an effect that
// reached a host before its start was on disk would be one a resume could not know of.
import { fromPromise } from 'xstate';

/** Resolves once a save that holds the machine's state as it is now has been written. */
export type WaitForSave = () => Promise<void>;

type PromiseCreator<TOutput, TInput> = Parameters<typeof fromPromise<TOutput, TInput>>[0];

/** fromPromise, waiting first for `waitForSave` (when given); a step stopped meanwhile never acts. */
export function effectActor<TOutput, TInput>(waitForSave: WaitForSave | undefined, creator: PromiseCreator<TOutput, TInput>) {
  if (!waitForSave) return fromPromise<TOutput, TInput>(creator);
  return fromPromise<TOutput, TInput>(async (args) => {
    await waitForSave();
    args.signal.throwIfAborted();
    return creator(args);
  });
}

/** effectActor with `waitForSave` given once: `const effect = effectsAfter(options.waitForSave)`. */
export function effectsAfter(waitForSave: WaitForSave | undefined) {
  return <TOutput, TInput>(creator: PromiseCreator<TOutput, TInput>) => effectActor<TOutput, TInput>(waitForSave, creator);
}
