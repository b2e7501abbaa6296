// FALLBACK_HOST for a host whose own fallback already runs: refused, and its fallback
// step is not started again (plain mode asks about the failed step while the fallback
// runs; a second answer must not run the fallback a second time).
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { Step } from '../runbook/types.js';
import type { EngineEmitted } from './events.js';
import { compileRunbook, type CommandResult } from './machine.js';
import { whyNot } from './rules.js';

const ANA = { role: 'upgrader' as const, name: 'ana' };

const source = `name: fallback twice
groups:
  guests: [vm1, vm2]
templates:
  update:
    params: [guest]
    steps:
      - run: check {{guest}}
        host: "{{guest}}"
    fallback:
      - run: restore {{guest}}
        host: "{{guest}}"
phases:
  - name: update
    for_each: guests
    use: update
`;

describe('falling back a host', () => {
  it('refuses FALLBACK_HOST while that host already falls back, and runs its fallback once', async () => {
    const started: string[] = [];
    const held = new Map<string, (result: CommandResult) => void>();
    const runbook = parseRunbook(source, 'rb.yaml');
    const machine = compileRunbook(runbook).provide({
      actors: {
        runRemote: fromPromise(async ({ input }: { input: { step: Step } }) => {
          started.push(input.step.id);
          if (input.step.id === 'update-1@vm1') return { exitCode: 1 };
          return new Promise<CommandResult>((resolve) => held.set(input.step.id, resolve));
        }),
      },
    });
    const actor = createActor(machine);
    const emitted: EngineEmitted[] = [];
    actor.on('*', (event) => emitted.push(event));
    actor.start();
    const settle = async (predicate: () => boolean) => {
      const until = Date.now() + 3000;
      while (!predicate()) {
        if (Date.now() > until) throw new Error(`not settled: ${JSON.stringify(actor.getSnapshot().value)}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    await settle(() => actor.getSnapshot().context.steps['update-1@vm1']?.status === 'failed');
    const fallBack = { type: 'FALLBACK_HOST' as const, phase: 'update', host: 'vm1', by: ANA, reason: 'put it back' };
    actor.send(fallBack);
    await settle(() => started.includes('update-fallback-1@vm1'));

    // vm1's fallback runs: a second FALLBACK_HOST for it is refused, and nothing starts again.
    expect(whyNot(actor.getSnapshot(), runbook, fallBack)).not.toBeNull();
    actor.send(fallBack);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started.filter((id) => id === 'update-fallback-1@vm1')).toHaveLength(1);
    expect(actor.getSnapshot().context.steps['update-fallback-1@vm1']?.attempts).toBe(1);
    expect(emitted.filter((event) => event.type === 'decision' && event.action === 'fallback-host')).toHaveLength(1);
    actor.stop();
  });
});
