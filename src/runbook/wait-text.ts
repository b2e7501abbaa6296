// What a wait step waits for, in words: its default title, and why it failed at its bound.
import { formatDuration } from './duration.js';
import { firstLine } from './first-line.js';
import type { WaitCondition, WaitStep } from './types.js';

export function describeWait(until: WaitCondition): string {
  switch (until.kind) {
    case 'ssh':
      return 'SSH answers';
    case 'port':
      return `port ${until.port} is open`;
    case 'command':
      return `\`${firstLine(until.command)}\` succeeds`;
  }
}

/** "port 8080 on dolphin was not open within 5m": named even when the runbook titled the step otherwise. */
export function waitMissed(step: WaitStep): string {
  const within = `within ${formatDuration(step.timeoutMs)}`;
  switch (step.until.kind) {
    case 'ssh':
      return `SSH on ${step.host} did not answer ${within}`;
    case 'port':
      return `port ${step.until.port} on ${step.host} was not open ${within}`;
    case 'command':
      return `\`${firstLine(step.until.command)}\` did not succeed on ${step.host} ${within}`;
  }
}
