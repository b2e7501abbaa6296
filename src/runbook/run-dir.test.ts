// The run_dir host key: where a host's run folders go before the usual places.
import { describe, expect, it } from 'vitest';
import { RunbookError } from './errors.js';
import { parseRunbook } from './load.js';

const withHost = (host: string) => `name: t
hosts:
  dragon: ${host}
phases:
  - name: one
    steps:
      - run: echo hi
        host: dragon
`;

describe('run_dir', () => {
  it('is read into the host, taken as it is written', () => {
    expect(parseRunbook(withHost(`{ run_dir: "/srv/night shift's" }`), 'rb.yaml').hosts['dragon']?.runDir).toBe("/srv/night shift's");
    expect(parseRunbook(withHost('{ address: 192.0.2.1 }'), 'rb.yaml').hosts['dragon']?.runDir).toBeUndefined();
  });

  it('must be an absolute path on one line, said at its place', () => {
    for (const given of ['srv/nightshift', '"~/runs"', '"/srv\\nrm -rf /"']) {
      let problems: string[] = [];
      try {
        parseRunbook(withHost(`{ run_dir: ${given} }`), 'rb.yaml');
      } catch (error) {
        if (!(error instanceof RunbookError)) throw error;
        problems = error.problems.map((problem) => `${problem.line}:${problem.col}: ${problem.message}`);
      }
      expect(problems).toEqual(["3:22: 'run_dir' of host 'dragon': it must be an absolute path on the host, such as /srv/nightshift"]);
    }
  });
});
