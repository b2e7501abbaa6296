import { render } from 'ink-testing-library';
import { Text } from 'ink';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatHub } from '../chat/hub.js';
import { parseRunbook } from '../runbook/load.js';
import { allSteps } from '../runbook/types.js';
import { BELL, RUNNING_TITLE, titleSequence, useAttention, WAITING_TITLE } from './attention.js';
import type { Prompt } from './prompt.js';

const runbook = parseRunbook(
  'name: t\nphases:\n  - name: one\n    steps:\n      - local: "true"\n      - checkpoint: cable moved\n        by: sentinel\n',
  't.yaml',
);
const [step, checkpoint] = allSteps(runbook) as [ReturnType<typeof allSteps>[number], ReturnType<typeof allSteps>[number]];
const running: Prompt = { kind: 'running', step, typing: false };
const failed: Prompt = { kind: 'decision', step, error: 'exit 2', interrupted: false, typing: false };
const siteOnly: Prompt = { kind: 'confirmation', step: checkpoint, role: 'sentinel', pending: ['sentinel'], relayable: false, typing: false };

function Probe(props: { prompt: Prompt; bell: boolean; write: (text: string) => void; hub?: ChatHub; chatOpen?: boolean }) {
  useAttention(props.prompt, { bell: props.bell, write: props.write, ...(props.hub ? { chat: { hub: props.hub, open: props.chatOpen ?? false } } : {}) });
  return <Text>probe</Text>;
}

describe('calling the upgrader back', () => {
  let unmount: (() => void) | undefined;
  afterEach(() => unmount?.());

  it('rings once when a prompt starts waiting for the upgrader, and titles the window either way', () => {
    const written: string[] = [];
    const write = (text: string) => written.push(text);
    const shown = render(<Probe prompt={running} bell write={write} />);
    unmount = shown.unmount;
    shown.rerender(<Probe prompt={failed} bell write={write} />);
    shown.rerender(<Probe prompt={failed} bell write={write} />);
    shown.rerender(<Probe prompt={siteOnly} bell write={write} />);
    const text = written.join('');
    expect(text.split(BELL + titleSequence(WAITING_TITLE))).toHaveLength(2);
    expect(text.endsWith(titleSequence(RUNNING_TITLE))).toBe(true);
    // Outside the titles (which end with a BEL of their own), exactly one bell.
    expect(text.replace(/\u001b\][^\u0007]*\u0007/g, '').split(BELL)).toHaveLength(2);
  });

  it('with the bell off, only the title says it', () => {
    const written: string[] = [];
    const shown = render(<Probe prompt={failed} bell={false} write={(text) => written.push(text)} />);
    unmount = shown.unmount;
    const text = written.join('');
    expect(text).toContain(titleSequence(WAITING_TITLE));
    expect(text.replace(/\u001b\][^\u0007]*\u0007/g, '')).not.toContain(BELL);
  });

  it("rings for a helper's message while the chat is closed, not for the upgrader's own nor while it is open", () => {
    const hub = new ChatHub(() => {});
    const upgrader = hub.join({ role: 'upgrader', name: 'ana', tz: 'UTC' });
    const helper = hub.join({ role: 'sentinel', name: 'bo', tz: 'UTC' });
    let bells = 0;
    const write = (text: string) => {
      if (text === BELL) bells++;
    };
    const shown = render(<Probe prompt={running} bell write={write} hub={hub} />);
    unmount = shown.unmount;
    hub.say(upgrader.id, 'going to move the cable now');
    expect(bells).toBe(0);
    hub.say(helper.id, 'cable moved');
    expect(bells).toBe(1);
    shown.rerender(<Probe prompt={running} bell write={write} hub={hub} chatOpen />);
    hub.say(helper.id, 'lights are green');
    expect(bells).toBe(1);
  });
});
