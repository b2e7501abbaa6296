import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { joinCommandFor } from '../chat/helper-access.js';
import { ChatHub } from '../chat/hub.js';
import { ChatPanel } from './chat-panel.js';

describe('the chat panel before anyone joins', () => {
  const hub = new ChatHub(() => {});
  const me = hub.join({ role: 'upgrader', name: 'ana', tz: 'UTC' });
  const draw = (channel: { opening(): boolean } | null) =>
    stripVTControlCharacters(renderToString(<ChatPanel hub={hub} me={me} access={null} channel={channel} width={70} height={5} now={0} />, { columns: 70 }));

  it('says the channel is opening while it opens, and that there is none only when none was asked for or it failed', () => {
    expect(draw({ opening: () => true })).toContain('chat: the helper channel is opening…');
    expect(draw({ opening: () => false })).toContain('chat: no helper channel (it could not open: see below)');
    expect(draw(null)).toContain('chat: no helper channel (--no-helpers)');
  });

  it('tells a helper on this machine the command to type, with ssh beside it', () => {
    expect(joinCommandFor({ address: '127.0.0.1', port: 40100 }, null, 'nightshift join')).toBe(
      'nightshift join in a second terminal (or ssh -p 40100 sentinel@127.0.0.1)',
    );
    expect(joinCommandFor({ address: '0.0.0.0', port: 40100 }, null)).toBe('ssh -p 40100 sentinel@<this machine>');
    expect(joinCommandFor({ address: '127.0.0.1', port: 40100 }, { host: 'dragon', port: 2222 }, 'nightshift join')).toBe(
      'ssh -p 2222 sentinel@localhost   (on dragon)',
    );
  });

  it('shows the join command, the code and the whole key on a narrow panel (80 columns), for reading out on the phone', () => {
    const access = {
      code: '098-370-169',
      lockedUntil: null,
      fingerprint: 'SHA256:R3ZKSk92xmon8WhNqZ438Ce4wzRQ7iG5/jERDxMFNGHE',
      local: { address: '127.0.0.1', port: 37535 },
      site: null,
      joinCommand: 'nightshift join in a second terminal (or ssh -p 37535 sentinel@127.0.0.1)',
    };
    const text = stripVTControlCharacters(
      renderToString(<ChatPanel hub={hub} me={me} access={access} channel={null} width={48} height={9} now={0} />, { columns: 48 }),
    );
    const inside = text
      .split('\n')
      .map((row) => row.replace(/^│ ?/, '').replace(/ *│$/, ''))
      .join('');
    expect(inside).toContain('read out: code 098-370-169');
    expect(inside).toContain('SHA256:R3ZKSk92xmon8WhNqZ438Ce4wzRQ7iG5/jERDxMFNGHE');
    // Wrapped at spaces: the rows joined with one between them read as the line.
    const spaced = text
      .split('\n')
      .map((row) => row.replace(/^│ ?/, '').replace(/ *│$/, ''))
      .join(' ');
    expect(spaced).toContain('nightshift join in a second terminal (or ssh -p 37535 sentinel@127.0.0.1)');
  });
});
