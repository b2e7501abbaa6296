// The rehearsal lab's way of running system tools: runTool, failing with a LabError.
import { runTool, type ToolOptions } from '../run-tool.js';
import { LabError } from './lab-error.js';

export function tool(command: string, args: string[], options: Omit<ToolOptions, 'fail'> = {}): Promise<string> {
  return runTool(command, args, { ...options, fail: (message) => new LabError(`The lab: ${message}`) });
}

/** A shell script run with sh -e; its text is the argument, never interpolated into a command line. */
export function script(text: string, options: Omit<ToolOptions, 'fail'> = {}): Promise<string> {
  return tool('sh', ['-ec', text], options);
}
