import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, waitFor } from 'xstate';
import { parseRunbook } from '../runbook/load.js';
import type { Runbook } from '../runbook/types.js';
import { HUMAN_ACTIONS, type ActionQuery, type EngineEmitted, type HumanAction, type HumanEvent } from './events.js';
import { compileRunbook, type CommandResult, type RunbookActor, type RunbookSnapshot } from './machine.js';
import { isRunAction, positionOf, whyNot, type Place } from './rules.js';
import { AttemptMayStillRunError, type AttemptState } from './unsettled-attempt.js';

const UPGRADER = { role: 'upgrader' as const, name: 'ana' };
const SENTINEL = { role: 'sentinel' as const, name: 'wei' };
const OBSERVER = { role: 'observer' as const, name: 'kim' };

const source = `name: rules test
hosts:
  dolphin: {}
phases:
  - name: all
    steps:
      - run: plug-modem
        host: dolphin
        id: plug
        needs: hands
      - run: wipe
        host: dolphin
        id: wipe
        destructive: "/dev/sdb"
      - checkpoint: the modem is in
        id: modem
        by: both
        confirm: dolphin
      - run: restore-root
        host: dolphin
        id: detached
      - run: grub-install
        host: dolphin
        id: foreground
        attach: false
      - local: mark
        id: checked
        check: test -f mark
      - reboot: dolphin
        id: boot
fallback:
  - run: swap back
    host: dolphin
    id: back
    attach: false
`;

/** A phase with a fallback of its own (`outer`: and the runbook's). */
const phaseSource = (outer: boolean) => `name: phase fallback rules test
hosts:
  dolphin: {}
phases:
  - name: swap
    steps:
      - run: ip addr add
        host: dolphin
        id: add
    fallback:
      - run: ip addr del
        host: dolphin
        id: del
${outer ? 'fallback:\n  - local: swap back\n    id: back\n' : ''}`;

/** What each effect does for a step: never ends (until aborted), fails, loses its link, or ends with a status. */
type Behaviour = 'hang' | 'fail' | 'lost' | CommandResult;

function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
}

async function perform(behaviour: Behaviour | undefined, signal: AbortSignal): Promise<CommandResult> {
  if (behaviour === 'hang') return hang(signal);
  if (behaviour === 'fail') throw new Error('it broke');
  if (behaviour === 'lost') throw new AttemptMayStillRunError('Lost dolphin: the link dropped');
  return behaviour ?? { exitCode: 0 };
}

interface Harness {
  runbook: Runbook;
  actor: RunbookActor;
  emitted: EngineEmitted[];
  at: (place: Place, stepId: string) => Promise<unknown>;
}

/** A run of `text` whose effects behave as `script` says per step (each step's effects in order; the last one repeats). */
function start(
  script: Record<string, Behaviour[]>,
  options: { text?: string; relaysAllowed?: boolean; snapshot?: unknown; probeChecks?: boolean } = {},
): Harness {
  const runbook = parseRunbook(options.text ?? source, 'rb.yaml');
  const next = (stepId: string): Behaviour | undefined => {
    const queue = script[stepId];
    return queue && queue.length > 1 ? queue.shift() : queue?.[0];
  };
  const command = (stepId: string, signal: AbortSignal) => perform(next(stepId), signal);
  const ends = async (stepId: string, signal: AbortSignal) => {
    const result = await perform(next(stepId), signal);
    if (result.exitCode !== 0) throw new Error('it broke');
  };
  const look = async (stepId: string, signal: AbortSignal): Promise<AttemptState> =>
    next(`${stepId}:look`) === 'hang' ? hang(signal) : { state: 'running', pid: 42 };
  const compile = {
    ...(options.relaysAllowed === undefined ? {} : { relaysAllowed: options.relaysAllowed }),
    ...(options.probeChecks ? { probeChecks: true } : {}),
  };
  const machine = compileRunbook(runbook, compile).provide({
    actors: {
      runRemote: fromPromise(async ({ input, signal }) => command(input.step.id, signal)),
      runLocal: fromPromise(async ({ input, signal }) => command(input.step.id, signal)),
      runCheck: fromPromise(async ({ input, signal }) => command(input.step.id, signal)),
      reboot: fromPromise(async ({ input, signal }) => ends(input.step.id, signal)),
      waitUntil: fromPromise(async ({ input, signal }) => ends(input.step.id, signal)),
      prepareEdit: fromPromise(async ({ input, signal }) => {
        await command(input.step.id, signal);
        return { changed: true, diff: '' };
      }),
      checkAttempt: fromPromise(async ({ input, signal }) => look(input.step.id, signal)),
      stopAttempt: fromPromise(async ({ input, signal }) => look(input.step.id, signal)),
      decideWhen: fromPromise(async ({ input, signal }) => {
        await ends(`${input.step.id}:when`, signal);
        return { holds: true, reason: '' };
      }),
      probeDone: fromPromise(async ({ input, signal }) => ({ exitCode: (await command(`${input.step.id}:probe`, signal)).exitCode, output: '' })),
    },
  });
  const actor = createActor(machine, options.snapshot ? { snapshot: options.snapshot as never } : {});
  const emitted: EngineEmitted[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.start();
  const at = (place: Place, stepId: string) =>
    waitFor(
      actor,
      (snapshot) => {
        const position = positionOf(snapshot);
        return position?.place === place && position.stepId === stepId;
      },
      { timeout: 2000 },
    );
  return { runbook, actor, emitted, at };
}

const approve = (h: Harness) => h.actor.send({ type: 'APPROVE', stepId: 'wipe', by: UPGRADER, value: '/dev/sdb' });
const override = (h: Harness) => h.actor.send({ type: 'OVERRIDE_HOLD', stepId: 'plug', by: UPGRADER, reason: 'plugged already' });
const confirmModem = (h: Harness) => {
  h.actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'upgrader', by: UPGRADER, value: 'dolphin' });
  h.actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: SENTINEL, value: 'dolphin' });
};
/** Through the first three steps (hands overridden, wipe approved, the modem confirmed). */
async function toDetached(h: Harness) {
  await h.at('held', 'plug');
  override(h);
  await h.at('approval', 'wipe');
  approve(h);
  await h.at('confirming', 'modem');
  confirmModem(h);
  return h;
}

/** An edit step alone, for the place it rests in while its file is read. */
const editSource = source.replace(
  /phases:[\s\S]*?fallback:/,
  'phases:\n  - name: all\n    steps:\n      - edit: /etc/x\n        id: conf\n        host: dolphin\n        content: x\nfallback:',
);

/** Each place a run can rest in, reached in a fresh run; `step` is the step it rests at. */
const scenes: Array<{ name: string; place: Place; step: string; reach: () => Promise<Harness> }> = [
  { name: 'held for hands', place: 'held', step: 'plug', reach: async () => start({}) },
  {
    name: 'waiting for an approval',
    place: 'approval',
    step: 'wipe',
    reach: async () => {
      const h = start({});
      await h.at('held', 'plug');
      override(h);
      return h;
    },
  },
  {
    name: 'a checkpoint half confirmed',
    place: 'confirming',
    step: 'modem',
    reach: async () => {
      const h = start({});
      await h.at('held', 'plug');
      override(h);
      await h.at('approval', 'wipe');
      approve(h);
      await h.at('confirming', 'modem');
      h.actor.send({ type: 'CONFIRM', stepId: 'modem', role: 'upgrader', by: UPGRADER, value: 'dolphin' });
      return h;
    },
  },
  { name: 'a command running', place: 'running', step: 'detached', reach: async () => toDetached(start({ detached: ['hang'] })) },
  { name: 'an edit step reading its file', place: 'preparing', step: 'conf', reach: async () => start({ conf: ['hang'] }, { text: editSource }) },
  { name: 'a failed foreground command', place: 'failed', step: 'foreground', reach: async () => toDetached(start({ foreground: [{ exitCode: 2 }] })) },
  {
    name: 'a lost detached attempt',
    place: 'failed',
    step: 'detached',
    reach: async () => toDetached(start({ detached: ['lost'], 'detached:look': ['hang'] })),
  },
  {
    name: 'asking the host before a retry',
    place: 'checkingAttempt',
    step: 'detached',
    reach: async () => {
      const h = await toDetached(start({ detached: ['lost'], 'detached:look': ['hang'] }));
      await h.at('failed', 'detached');
      h.actor.send({ type: 'RETRY', stepId: 'detached', by: UPGRADER });
      return h;
    },
  },
  {
    name: 'stopping an attempt',
    place: 'stoppingAttempt',
    step: 'detached',
    reach: async () => {
      const h = await toDetached(start({ detached: ['lost'], 'detached:look': ['hang'] }));
      await h.at('failed', 'detached');
      h.actor.send({ type: 'STOP_ATTEMPT', stepId: 'detached', by: UPGRADER });
      return h;
    },
  },
  { name: 'a reboot that did not come back', place: 'failed', step: 'boot', reach: async () => toDetached(start({ boot: ['fail'] })) },
  {
    name: 'a reboot put to the site',
    place: 'asking',
    step: 'boot',
    reach: async () => {
      const h = await toDetached(start({ boot: ['fail'] }));
      await h.at('failed', 'boot');
      h.actor.send({ type: 'ASK_SITE', stepId: 'boot', by: UPGRADER, request: 'power-cycle it' });
      return h;
    },
  },
  {
    name: 'an interrupted step',
    place: 'interrupted',
    step: 'foreground',
    reach: async () => interrupted('foreground', {}),
  },
  {
    name: 'an interrupted step put to the upgrader',
    place: 'failed',
    step: 'foreground',
    reach: async () => {
      const h = await interrupted('foreground', {});
      h.actor.send({ type: 'RESUME', by: UPGRADER });
      return h;
    },
  },
  {
    name: 'an interrupted step being checked',
    place: 'checking',
    step: 'checked',
    reach: async () => {
      const h = await interrupted('checked', { checked: ['hang'] });
      h.actor.send({ type: 'RESUME', by: UPGRADER });
      return h;
    },
  },
  {
    name: 'a check asked first (going again)',
    place: 'probing',
    step: 'checked',
    reach: async () => toDetached(start({ 'checked:probe': ['hang'] }, { probeChecks: true })),
  },
  {
    name: 'a failed fallback step',
    place: 'failed',
    step: 'back',
    reach: async () => {
      const h = await toDetached(start({ foreground: [{ exitCode: 2 }], back: [{ exitCode: 1 }] }));
      await h.at('failed', 'foreground');
      h.actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'grub is broken' });
      return h;
    },
  },
  {
    name: 'a failed step of a phase with a fallback of its own',
    place: 'failed',
    step: 'add',
    reach: async () => start({ add: [{ exitCode: 2 }] }, { text: phaseSource(true) }),
  },
  {
    name: 'a lost step of a phase fallback, the runbook having one',
    place: 'failed',
    step: 'del',
    reach: async () => {
      const h = start({ add: [{ exitCode: 2 }], del: ['lost'], 'del:look': ['hang'] }, { text: phaseSource(true) });
      await h.at('failed', 'add');
      h.actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'undo the address' });
      return h;
    },
  },
  {
    name: 'a failed step of a phase fallback, the runbook having none',
    place: 'failed',
    step: 'del',
    reach: async () => {
      const h = start({ add: [{ exitCode: 2 }], del: [{ exitCode: 1 }] }, { text: phaseSource(false) });
      await h.at('failed', 'add');
      h.actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'undo the address' });
      return h;
    },
  },
];

/** A step with a when: condition, for the places of deciding it. */
const deciding = `name: deciding
hosts:
  dolphin: {}
phases:
  - name: all
    steps:
      - run: daemon-reload
        host: dolphin
        id: decided
        when: dolphin.systemd
fallback:
  - run: swap back
    host: dolphin
    id: back
    attach: false
`;

scenes.push(
  { name: 'a when: being decided', place: 'deciding', step: 'decided', reach: async () => start({ 'decided:when': ['hang'] }, { text: deciding }) },
  { name: 'a when: that could not be decided', place: 'failed', step: 'decided', reach: async () => start({ 'decided:when': ['fail'] }, { text: deciding }) },
);

/** A rollout over two hosts at once, each with a fallback of its own. */
const rollout = `name: rollout
groups:
  guests: [vm1, vm2]
phases:
  - name: update
    for_each: guests
    steps:
      - run: apt-get upgrade
        host: "{{host}}"
    fallback:
      - run: apt-get install old
        host: "{{host}}"
fallback:
  - local: tell the noc
    id: back
`;

scenes.push({
  name: 'a host of a rollout failed while another runs',
  place: 'failed',
  step: 'update-1@vm2',
  reach: async () => start({ 'update-1@vm1': ['hang'], 'update-1@vm2': [{ exitCode: 100 }] }, { text: rollout }),
});

/** A run saved while `stepId` ran, restored as interrupted (as runner/restore.ts does). */
async function interrupted(stepId: string, script: Record<string, Behaviour[]>): Promise<Harness> {
  const first = await toDetached(start({ [stepId]: ['hang'] }));
  await first.at('running', stepId);
  const saved = JSON.parse(JSON.stringify(first.actor.getPersistedSnapshot())) as { value: unknown; children: unknown };
  first.actor.stop();
  saved.value = { main: { [stepId]: 'interrupted' } };
  saved.children = {};
  return start(script, { snapshot: saved });
}

/** Every person's action, aimed at `stepId`, with a reason where it takes one; some twice, as they are often got wrong. */
function actionsAt(stepId: string): HumanEvent[] {
  return [
    { type: 'CONFIRM', stepId, role: 'sentinel', by: SENTINEL, value: 'dolphin' },
    { type: 'CONFIRM', stepId, role: 'sentinel', by: OBSERVER, value: 'dolphin' },
    { type: 'APPROVE', stepId, by: UPGRADER, value: '/dev/sdb' },
    { type: 'APPROVE', stepId, by: UPGRADER, value: '/dev/sda' },
    { type: 'RETRY', stepId, by: UPGRADER },
    { type: 'RETRY', stepId: 'elsewhere', by: UPGRADER },
    { type: 'REATTACH', stepId, by: UPGRADER },
    { type: 'STOP_ATTEMPT', stepId, by: UPGRADER },
    { type: 'SKIP', stepId, by: UPGRADER, reason: 'not needed' },
    { type: 'SKIP', stepId, by: UPGRADER, reason: '  ' },
    { type: 'CANCEL', stepId, by: UPGRADER },
    { type: 'FALLBACK', by: UPGRADER, reason: 'it went wrong' },
    { type: 'FALLBACK', by: UPGRADER, reason: ' ' },
    { type: 'PAUSE', by: UPGRADER },
    { type: 'RESUME', by: UPGRADER },
    { type: 'MARK_DONE', stepId, by: UPGRADER, reason: 'it is there' },
    { type: 'MARK_DONE', stepId, by: UPGRADER, reason: '' },
    { type: 'OVERRIDE_HOLD', stepId, by: UPGRADER, reason: 'plugged already' },
    { type: 'OVERRIDE_HOLD', stepId, by: SENTINEL, reason: 'plugged already' },
    { type: 'OVERRIDE_HOLD', stepId, by: UPGRADER, reason: ' ' },
    { type: 'ASK_SITE', stepId, by: UPGRADER, request: 'power-cycle it' },
    { type: 'ASK_SITE', stepId, by: UPGRADER, request: ' ' },
    { type: 'SKIP_HOST', phase: 'update', host: 'vm2', by: UPGRADER, reason: 'mirror broken' },
    { type: 'SKIP_HOST', phase: 'update', host: 'vm1', by: UPGRADER, reason: 'it is running' },
    { type: 'SKIP_HOST', phase: 'update', host: 'vm2', by: SENTINEL, reason: 'mirror broken' },
    { type: 'FALLBACK_HOST', phase: 'update', host: 'vm2', by: UPGRADER, reason: 'undo it' },
    { type: 'FALLBACK_HOST', phase: 'update', host: 'vm2', by: UPGRADER, reason: ' ' },
    { type: 'STOP_ROLLOUT', phase: 'update', host: 'vm2', by: UPGRADER, reason: 'look tomorrow' },
    { type: 'STOP_ROLLOUT', phase: 'update', by: UPGRADER, reason: 'enough for tonight' },
    { type: 'STOP_ROLLOUT', phase: 'nope', by: UPGRADER, reason: 'enough for tonight' },
  ];
}

const describeEvent = (event: HumanEvent) =>
  `${event.type}${'host' in event ? ` ${event.host}` : ''}${'phase' in event && event.phase !== 'update' ? ` of ${event.phase}` : ''}${'reason' in event ? ` "${event.reason}"` : ''}${'stepId' in event && event.stepId === 'elsewhere' ? ' for another step' : ''}${event.by.role !== 'upgrader' ? ` by the ${event.by.role}` : ''}`;

/** The same query with what is typed left out, as a front-end asks before the reason (request, text) is typed. */
function untyped(event: HumanEvent): ActionQuery {
  const query: Record<string, unknown> & ActionQuery = { ...event };
  delete query['reason'];
  delete query['request'];
  if (event.type === 'APPROVE') delete query['value'];
  return query;
}

interface Answer {
  whyNot: string | null;
  refusals: EngineEmitted[];
  taken: boolean;
  before: RunbookSnapshot;
  after: RunbookSnapshot;
}

async function answerTo(scene: (typeof scenes)[number], event: HumanEvent): Promise<Answer> {
  const h = await scene.reach();
  await h.at(scene.place, scene.step);
  const before = h.actor.getSnapshot();
  const expected = whyNot(before, h.runbook, event);
  const from = h.emitted.length;
  h.actor.send(event);
  const after = h.actor.getSnapshot();
  const heard = h.emitted.slice(from);
  const refusals = heard.filter((e) => e.type === 'step.refused');
  const taken =
    refusals.length === 0 &&
    (heard.length > 0 || JSON.stringify(after.value) !== JSON.stringify(before.value) || JSON.stringify(after.context) !== JSON.stringify(before.context));
  // Asked before its reason is typed, an action the rules would take is open.
  if (expected === null) expect(whyNot(before, h.runbook, untyped(event))).toBeNull();
  h.actor.stop();
  return { whyNot: expected, refusals, taken, before, after };
}

describe("every person's action is answered where the run rests", () => {
  const refusedSomewhere = new Set<HumanAction>();
  const takenSomewhere = new Set<HumanAction>();

  for (const scene of scenes) {
    describe(`${scene.name} (${scene.place} at ${scene.step})`, () => {
      for (const event of actionsAt(scene.step)) {
        it(`${describeEvent(event)}: taken exactly when whyNot says nothing against it, else refused with its reason`, async () => {
          const answer = await answerTo(scene, event);
          if (answer.whyNot === null) {
            takenSomewhere.add(event.type);
            expect(answer.refusals).toEqual([]);
            expect(answer.taken).toBe(true);
          } else {
            refusedSomewhere.add(event.type);
            expect(answer.refusals).toEqual([
              {
                type: 'step.refused',
                stepId: isRunAction(event.type) ? null : scene.step,
                action: event.type,
                by: event.by,
                reason: answer.whyNot,
                at: expect.any(Number),
              },
            ]);
            // A refusal changes nothing.
            expect(answer.after.value).toEqual(answer.before.value);
            expect(answer.after.context).toEqual(answer.before.context);
          }
        });
      }
    });
  }

  it('every action was refused somewhere and taken somewhere in the table above', () => {
    const all: HumanAction[] = [...HUMAN_ACTIONS];
    expect([...refusedSomewhere].sort()).toEqual([...all].sort());
    expect([...takenSomewhere].sort()).toEqual([...all].sort());
  });
});

describe('the refusals the front-ends used to work out for themselves', () => {
  const scene = (name: string) => scenes.find((candidate) => candidate.name === name)!;

  it('fall back, pause, retry and approve are refused out loud where they do not apply', async () => {
    const running = scene('a command running');
    expect((await answerTo(running, { type: 'PAUSE', by: UPGRADER })).refusals).toEqual([
      expect.objectContaining({
        action: 'PAUSE',
        stepId: null,
        reason: 'step detached is running: suspend the run instead (a detached command goes on on its host), or pause once it has ended',
      }),
    ]);
    expect((await answerTo(running, { type: 'RETRY', stepId: 'detached', by: UPGRADER })).refusals).toEqual([
      expect.objectContaining({ action: 'RETRY', stepId: 'detached', reason: 'retry is not possible now: step detached is running' }),
    ]);
    expect((await answerTo(running, { type: 'APPROVE', stepId: 'detached', by: UPGRADER, value: 'x' })).refusals).toEqual([
      expect.objectContaining({ action: 'APPROVE', reason: 'approval is not possible now: step detached is running' }),
    ]);
    expect((await answerTo(scene('a failed fallback step'), { type: 'FALLBACK', by: UPGRADER, reason: 'again' })).refusals).toEqual([
      expect.objectContaining({ action: 'FALLBACK', stepId: null, reason: 'the fallback is already running' }),
    ]);
    expect((await answerTo(scene('a failed foreground command'), { type: 'FALLBACK', by: UPGRADER, reason: '' })).refusals).toEqual([
      expect.objectContaining({ action: 'FALLBACK', reason: 'falling back needs a reason' }),
    ]);
  });

  it('a fallback in a phase with its own starts that one; during it, the runbook one; with none to go on to, it is refused', async () => {
    const inPhase = await answerTo(scene('a failed step of a phase with a fallback of its own'), { type: 'FALLBACK', by: UPGRADER, reason: 'undo' });
    expect(inPhase.after.value).toMatchObject({ phaseFallback_swap: expect.anything() });
    const escalated = await answerTo(scene('a lost step of a phase fallback, the runbook having one'), { type: 'FALLBACK', by: UPGRADER, reason: 'all back' });
    expect(escalated.after.value).toMatchObject({ fallback: expect.anything() });
    expect(
      (await answerTo(scene('a failed step of a phase fallback, the runbook having none'), { type: 'FALLBACK', by: UPGRADER, reason: 'more' })).refusals,
    ).toEqual([
      expect.objectContaining({
        action: 'FALLBACK',
        stepId: null,
        reason: 'the fallback of phase swap is already running, and the runbook has no fallback of its own to go on to',
      }),
    ]);
  });

  it('a runbook without fallback steps refuses a fallback, and whyNot says so before a reason is typed', async () => {
    const h = start({}, { text: source.replace(/fallback:\n[\s\S]*$/, '') });
    await h.at('held', 'plug');
    expect(whyNot(h.actor.getSnapshot(), h.runbook, { type: 'FALLBACK', by: UPGRADER })).toBe('this runbook has no fallback steps');
    h.actor.send({ type: 'FALLBACK', by: UPGRADER, reason: 'no way on' });
    expect(h.emitted.at(-1)).toMatchObject({ type: 'step.refused', action: 'FALLBACK', stepId: null, reason: 'this runbook has no fallback steps' });
  });

  it('whyNot knows whether relays are allowed, as the machine does', async () => {
    for (const relaysAllowed of [true, false]) {
      const h = start({}, { relaysAllowed });
      await h.at('held', 'plug');
      override(h);
      await h.at('approval', 'wipe');
      approve(h);
      await h.at('confirming', 'modem');
      const relay: HumanEvent = { type: 'CONFIRM', stepId: 'modem', role: 'sentinel', by: UPGRADER, value: 'dolphin' };
      const expected = whyNot(h.actor.getSnapshot(), h.runbook, relay);
      expect(expected).toBe(relaysAllowed ? null : 'only the sentinel can confirm for the sentinel');
      h.actor.send(relay);
      const refused = h.emitted.at(-1)?.type === 'step.refused';
      expect(refused).toBe(!relaysAllowed);
    }
  });

  it('asked before its reason is typed, whyNot answers whether the action is open; a blank reason is refused once typed', async () => {
    const failedAt = await scene('a failed foreground command').reach();
    await failedAt.at('failed', 'foreground');
    const snapshot = failedAt.actor.getSnapshot();
    expect(whyNot(snapshot, failedAt.runbook, { type: 'SKIP', stepId: 'foreground', by: UPGRADER })).toBeNull();
    expect(whyNot(snapshot, failedAt.runbook, { type: 'SKIP', stepId: 'foreground', by: UPGRADER, reason: ' ' })).toBe('skipping needs a reason');
    expect(whyNot(snapshot, failedAt.runbook, { type: 'MARK_DONE', stepId: 'foreground', by: UPGRADER })).toBe(
      'only a step that was in flight when nightshift stopped can be marked done',
    );
    const runningAt = await scene('a command running').reach();
    await runningAt.at('running', 'detached');
    expect(whyNot(runningAt.actor.getSnapshot(), runningAt.runbook, { type: 'SKIP', stepId: 'detached', by: UPGRADER })).toBe(
      'skip is not possible now: step detached is running',
    );
    failedAt.actor.stop();
    runningAt.actor.stop();
  });

  it('an ended run refuses everything', async () => {
    const h = start({}, { text: 'name: tiny\nphases:\n  - name: one\n    steps:\n      - note: hello\n        id: hi\n' });
    await waitFor(h.actor, (snapshot) => snapshot.status === 'done');
    expect(whyNot(h.actor.getSnapshot(), h.runbook, { type: 'PAUSE', by: UPGRADER })).toBe('the run has ended');
  });
});
