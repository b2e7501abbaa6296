// An effect as an XState promise actor that acts only once the state that started it is saved.
// XState starts an invoked actor before it tells the machine's subscribers of the new state,
// and the run saves in a subscriber (run.ts): an effect that acted at once, as a local step
// spawning its command did, could reach the world before its start was on disk, and a resume
// would not know of it. The save is synchronous and runs in the same call as the start, so
// waiting one microtask is enough; an effect stopped meanwhile never acts.
import { fromPromise } from 'xstate';

type PromiseCreator<TOutput, TInput> = Parameters<typeof fromPromise<TOutput, TInput>>[0];

export function effectActor<TOutput, TInput>(creator: PromiseCreator<TOutput, TInput>) {
  return fromPromise<TOutput, TInput>(async (args) => {
    await Promise.resolve();
    args.signal.throwIfAborted();
    return creator(args);
  });
}
