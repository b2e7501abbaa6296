import type { ChatMessage } from '../chat/hub.js';
import { clockIn } from './clock.js';

/** A message's time in the reader's clock, and in the writer's too when they live elsewhere: "03:02 (15:02 mia's time)". */
export function messageStamp(message: ChatMessage, readerTz: string): string {
  const mine = clockIn(readerTz, message.at);
  if (message.from === null || message.tz === readerTz || clockIn(message.tz, message.at) === mine) return mine;
  return `${mine} (${clockIn(message.tz, message.at)} ${message.from.name}'s time)`;
}
