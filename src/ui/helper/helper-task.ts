// What is asked of a helper right now, from the engine's focus: their checkpoint, a step
// held until someone on site is there, or nothing.
import type { Participant } from '../../chat/hub.js';
import type { EngineView } from '../../engine/view.js';
import type { Step } from '../../runbook/types.js';
import { confirmationText, stepLabel } from '../../text/steps.js';

export interface HelperTask {
  kind: 'confirm' | 'watch' | 'hands';
  heading: string;
  text: string;
  how: string | null;
}

export function helperTask(view: EngineView, stepOf: (id: string) => Step, me: Pick<Participant, 'role' | 'away'>): HelperTask | null {
  const { focus } = view;
  if (!focus || view.outcome) return null;
  const step = stepOf(focus.stepId);
  if (focus.waitingFor === 'confirmation') {
    const text = confirmationText(step, focus.request);
    if (!focus.roles.includes('sentinel')) return { kind: 'watch', heading: `WAITING FOR THE UPGRADER · ${step.number}`, text, how: null };
    if (me.role === 'observer') {
      return { kind: 'watch', heading: `WAITING FOR THE SENTINEL · ${step.number}`, text, how: 'You are watching: a sentinel confirms this.' };
    }
    const confirmText = step.kind === 'checkpoint' ? step.confirmText : undefined;
    return {
      kind: 'confirm',
      heading: `YOUR TURN · ${step.number}`,
      text,
      how: confirmText !== undefined ? `When it is done, type  /ok ${confirmText}  and press Enter.` : 'When it is done, type  /ok  and press Enter.',
    };
  }
  if (focus.waitingFor === 'hands') {
    return {
      kind: 'hands',
      heading: `NEEDED ON SITE · ${step.number}`,
      text: `${stepLabel(step)} needs someone at the machines (${focus.why}).`,
      how: me.away ? 'You are marked away: type  /back  when you are there.' : me.role === 'observer' ? 'A sentinel must join for it.' : null,
    };
  }
  return null;
}
