// The Host aliases an ssh config names (no patterns), for runbook groups written as
// { aliases: PATTERN }. Include lines are followed as ssh follows them, relative to ~/.ssh.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export function sshConfigAliases(configFile = path.join(homedir(), '.ssh', 'config'), seen = new Set<string>()): string[] {
  if (seen.has(configFile)) return [];
  seen.add(configFile);
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch {
    return [];
  }
  const aliases: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(Host|Include)\s*(?:=\s*|\s)(.+?)\s*$/i.exec(line.replace(/#.*/, ''));
    if (!match) continue;
    const words = match[2]!.split(/\s+/).map((word) => word.replace(/^"(.*)"$/, '$1'));
    if (match[1]!.toLowerCase() === 'include') {
      for (const word of words) {
        if (/[*?[]/.test(word)) continue;
        const file = word.startsWith('~/') ? path.join(homedir(), word.slice(2)) : path.isAbsolute(word) ? word : path.join(homedir(), '.ssh', word);
        aliases.push(...sshConfigAliases(file, seen));
      }
      continue;
    }
    for (const word of words) if (!/[*?!]/.test(word) && !aliases.includes(word)) aliases.push(word);
  }
  return aliases;
}
