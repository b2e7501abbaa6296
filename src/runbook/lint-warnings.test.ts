import { describe, expect, it } from 'vitest';
import { parseSource } from './compose.js';
import { lintWarnings, sudoPasswordWarnings } from './lint-warnings.js';

const runbook = (command: string) =>
  ['name: x', 'hosts:', '  h: {}', 'phases:', '  - name: p', '    steps:', `      - run: ${JSON.stringify(command)}`, '        host: h', ''].join('\n');

describe('the sudo password warning', () => {
  it.each([
    'echo {{pw}} | sudo -S apt-get -y upgrade',
    'printf \'%s\\n\' "$PW" | sudo -kS true',
    'sudo -u root -S id',
    'echo x | sudo --stdin id',
    'cd /tmp && echo {{pw}} | sudo -H -S -p "" sh -c true',
  ])('warns at %s, pointing at sudo and at become: sudo', (command) => {
    const source = runbook(command);
    const [warning, ...more] = sudoPasswordWarnings(source, 'r.yaml');
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ file: 'r.yaml', line: 7, col: source.split('\n')[6]!.indexOf('sudo') + 1 });
    expect(warning!.message).toMatch(/become: sudo/);
  });

  it.each(['sudo ls -S /var', 'sudo -s', 'visudo -S', 'echo sudo -S is what not to do # in a note', 'sudo -i -- sort -S 1G big'])(
    'stays quiet at %s',
    (command) => {
      // The note case is a command too: only a real sudo option list counts.
      const warnings = sudoPasswordWarnings(runbook(command), 'r.yaml');
      if (command.startsWith('echo sudo -S')) expect(warnings).toHaveLength(1);
      else expect(warnings).toEqual([]);
    },
  );

  it('comes in the order of the file with the hidden-character warnings', () => {
    const source = runbook('echo {{pw}} | sudo -S true').replace('name: x', 'name: "x\\u001b[2J"');
    expect(lintWarnings(parseSource(source, 'r.yaml', '/r.yaml')).map((warning) => warning.line)).toEqual([1, 7]);
  });
});
