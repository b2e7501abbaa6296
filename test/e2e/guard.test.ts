// `guard:` run by the built binary in plain mode against OpenSSH's sshd, two hosts (two
// aliases of the test sshd): armed on both before the block, committed after it; fired at
// once when a step inside fails; and, with nightshift killed inside the block, run by the
// hosts themselves at the deadline, which the resumed run then finds and falls back from.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientFlags, converse, freshStateDir } from '../support/cli.js';
import { describeWithSshd, freePort, Sshd } from '../support/sshd.js';
import { scratchFolders } from '../support/scratch-folder.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait-for.js';
import { guardEntries, onlySessionJournal } from '../support/session-journal.js';

const scratch = scratchFolders();

describeWithSshd('guard: one dead-man over a block, on two hosts', () => {
  let sshd: Sshd;
  let relay: TcpRelay;
  beforeAll(async () => {
    sshd = await Sshd.start();
    relay = await TcpRelay.start(sshd.port);
  });
  afterAll(async () => {
    await relay?.close();
    await sshd?.stop();
  });

  /** A runbook whose guarded phase `swap` changes a file on each host; `middle` goes between the two changes (CUT_FILE: the file that cuts the relay). */
  /** `viaRelay`: dolphin is reached through the relay (whose link a test can cut). */
  function setUp(middle: string[], after = '30s', viaRelay = false) {
    const dir = scratch('ns-guard-');
    sshd.writeClientFiles(dir, 'dragon');
    const dolphin = viaRelay ? sshd.clientConfig('dolphin', { port: relay.port }) : sshd.clientConfig('dolphin');
    writeFileSync(path.join(dir, 'ssh_config'), sshd.clientConfig('dragon') + dolphin);
    if (viaRelay) writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n${sshd.knownHostsLine(undefined, relay.port)}\n`);
    const state = (host: string) => path.join(dir, `${host}.state`);
    writeFileSync(state('dragon'), 'old\n');
    writeFileSync(state('dolphin'), 'old\n');
    writeFileSync(
      path.join(dir, 'guard.yaml'),
      [
        'name: guarded swap',
        'hosts:',
        '  dragon: {}',
        '  dolphin: {}',
        'phases:',
        '  - name: swap',
        '    guard:',
        `      revert_after: ${after}`,
        '      revert:',
        `        dragon: echo "dragon's revert ran"; echo old > ${state('dragon')}`,
        `        dolphin: echo old > ${state('dolphin')}; rm -f ${path.join(dir, 'cut')}`,
        '      through: verify',
        '    steps:',
        `      - run: echo new > ${state('dolphin')}`,
        '        host: dolphin',
        ...middle.map((line) => line.replace('CUT_FILE', path.join(dir, 'cut'))),
        `      - run: echo new > ${state('dragon')}`,
        '        host: dragon',
        '  - name: verify',
        '    steps:',
        `      - run: cat ${state('dragon')} ${state('dolphin')}`,
        '        host: dolphin',
        'fallback:',
        '  - run: echo falling back',
        '    host: dragon',
        '',
      ].join('\n'),
    );
    const read = (host: string) => readFileSync(state(host), 'utf8').trim();
    return { dir, args: ['run', '--plain', '--no-helpers', path.join(dir, 'guard.yaml'), ...clientFlags(dir)], read, cut: path.join(dir, 'cut') };
  }

  it('arms on both hosts first, commits from new connections after the block, and the changes stay', async () => {
    const { args, read } = setUp([]);
    const stateDir = freshStateDir();
    const run = converse(args, () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' });
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/1\.0 Arm the guard: dragon, dolphin revert by themselves in 30s unless it is committed/);
    expect(text).toMatch(/nightshift: dragon: armed with a sleeper \(pid \d+\); unless committed, it runs by itself at /);
    expect(text).toMatch(/nightshift: dolphin answered a new connection: its revert is disarmed and the changes stay/);
    expect([read('dragon'), read('dolphin')]).toEqual(['new', 'new']);
    expect(guardEntries(stateDir)).toEqual(['guard.armed dolphin', 'guard.armed dragon', 'guard.committed dolphin', 'guard.committed dragon']);
    // The commit comes after the block's last step: 2.2 (verify's own step is 2.1).
    expect(text.indexOf('2.2 Commit the guard')).toBeGreaterThan(text.indexOf('2.1 cat'));
  }, 60_000);

  it('fires at once when a step inside the block fails: both hosts revert long before the deadline, then the fallback', async () => {
    const { args, read } = setUp(['      - run: echo the new route is wrong >&2; exit 3', '        host: dragon'], '10m');
    const stateDir = freshStateDir();
    const started = Date.now();
    const run = converse(args, () => undefined, { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' });
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(3);
    expect(Date.now() - started).toBeLessThan(60_000);
    const text = run.lines.join('\n');
    expect(text).toMatch(/1\.F0 Fire the guard: dragon, dolphin revert now/);
    expect(text).toMatch(/dragon revert\| dragon's revert ran/);
    expect(text).toMatch(/nightshift: dolphin: the revert ran at .* and exited 0/);
    expect(text).toMatch(/falling back/);
    expect([read('dragon'), read('dolphin')]).toEqual(['old', 'old']);
    expect(guardEntries(stateDir)).toEqual([
      'guard.armed dolphin',
      'guard.armed dragon',
      'guard.fired dolphin by nightshift',
      'guard.fired dragon by nightshift',
    ]);
  }, 60_000);

  it('killed inside the block, the hosts revert by themselves at the deadline; the resumed run finds it and falls back', async () => {
    const { args, read } = setUp(['      - checkpoint: The modem cable is in the new dragon'], '12s');
    const stateDir = freshStateDir();
    const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
    const first = converse(args, () => undefined, env);
    await waitFor(() => first.lines.some((line) => /The modem cable is in the new dragon/.test(line)), { timeoutMs: 30_000, what: 'the checkpoint' });
    expect(read('dolphin')).toBe('new');
    first.child.kill('SIGKILL');
    await first.exited;
    // Nobody is left to undo anything: the host's own timer does, at its deadline.
    await waitFor(() => read('dolphin') === 'old', { timeoutMs: 30_000, what: "dolphin's own revert" });
    expect(read('dragon')).toBe('old');

    const second = converse(
      ['resume', '--plain', ...clientFlags(path.dirname(args[3]!))],
      (line) => (/Type yes to confirm/.test(line) ? 'yes' : undefined),
      env,
    );
    expect(await second.exited, second.lines.join('\n') + second.stderr()).toBe(3);
    const text = second.lines.join('\n');
    // dragon's change is not made over a revert that already ran: the block stops there.
    expect(text).toMatch(/the guard's deadline has passed on dragon, dolphin: the revert ran there by itself/);
    expect(read('dragon')).toBe('old');
    expect(text).toMatch(/the revert ran at .* by itself, at its deadline and exited 0/);
    expect(guardEntries(stateDir)).toEqual(expect.arrayContaining(['guard.fired dolphin by deadline', 'guard.fired dragon by deadline']));
    expect(guardEntries(stateDir)).not.toContain('guard.committed dolphin');
    const report = converse(['report'], () => undefined, env);
    expect(await report.exited, report.stderr()).toBe(0);
    const markdown = readFileSync(report.lines.find((line) => line.endsWith('report.md'))!, 'utf8');
    expect(markdown).toMatch(/guard swap: the revert on dolphin ran by itself at its deadline and exited 0/);
  }, 90_000);

  it('cut off from a host when the block falls back, waits for its own revert at the deadline, and finds it ran', async () => {
    const { args, read, cut } = setUp(
      ['      - run: touch CUT_FILE', '        host: dolphin', '      - checkpoint: The modem cable is in the new dragon'],
      '15s',
      true,
    );
    // The change cuts dolphin off: its link goes, and no new login reaches it until the revert runs.
    relay.refuseNewWhile(() => existsSync(cut));
    const stateDir = freshStateDir();
    let cutAt = 0;
    const run = converse(
      args,
      (line) => {
        if (!/The modem cable is in the new dragon/.test(line) || cutAt !== 0) return undefined;
        relay.cut();
        cutAt = Date.now();
        return 'fallback the new dragon does not route';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    try {
      expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(3);
    } finally {
      relay.refuseNewWhile(() => false);
    }
    const text = run.lines.join('\n');
    expect(text).toMatch(/nightshift: dolphin cannot be reached \(.*\); its revert runs there by itself at .*: waiting for it to answer until /);
    expect(text).toMatch(/nightshift: dolphin: the revert ran at .* by itself, at its deadline and exited 0/);
    // dragon, still reachable, reverted at once.
    expect(text).toMatch(/nightshift: dragon: the revert ran at .* and exited 0/);
    expect([read('dragon'), read('dolphin')]).toEqual(['old', 'old']);
    expect(existsSync(cut)).toBe(false);
    expect(guardEntries(stateDir)).toEqual([
      'guard.armed dolphin',
      'guard.armed dragon',
      'guard.fired dolphin by deadline',
      'guard.fired dragon by nightshift',
    ]);
    expect(Date.now() - cutAt).toBeGreaterThan(5000);
  }, 120_000);

  it('with a spare way in: proved before the block, carries the run when the main port stops answering, and is stopped after the commit', async () => {
    const sparePort = await freePort();
    const { dir, args, read, cut } = setUp(
      [
        '      - run: touch CUT_FILE',
        '        host: dolphin',
        '      - checkpoint: The main sshd is down',
        '      - run: echo through the spare',
        '        host: dolphin',
      ],
      '1m',
      true,
    );
    const yaml = path.join(dir, 'guard.yaml');
    writeFileSync(
      yaml,
      readFileSync(yaml, 'utf8').replace('  dolphin: {}', `  dolphin:\n    spare_access: { port: ${sparePort}, config: ${sshd.configFile}, lifetime: 1m }`),
    );
    relay.refuseNewWhile(() => existsSync(cut));
    const { run, stateDir } = runCuttingAt(args, /The main sshd is down/, () => relay.cut());
    try {
      expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    } finally {
      relay.refuseNewWhile(() => false);
      spawnSync('pkill', ['-f', `-p ${sparePort}`]);
    }
    const text = run.lines.join('\n');
    expect(text).toMatch(
      new RegExp(`nightshift: dolphin: a spare way in is up on port ${sparePort} \\(openssh \\S+sshd\\): a login went through it over a new connection`),
    );
    expect(text).toMatch(/^dolphin\| through the spare$/m);
    expect(text).toMatch(/nightshift: the spare way in stopped, sessions through it going on/);
    expect([read('dragon'), read('dolphin')]).toEqual(['new', 'new']);
    const journal = onlySessionJournal(stateDir);
    // The main port refused: the logins after the cut went to the spare.
    expect(journal.find((entry) => entry['type'] === 'host.state' && entry['host'] === 'dolphin' && entry['through'] !== undefined)).toMatchObject({
      state: 'connected',
      through: expect.stringMatching(new RegExp(`^the spare way in on port ${sparePort} \\(the main port: `)),
    });
    expect(guardEntries(stateDir)).toEqual(
      expect.arrayContaining(['guard.spare-up dolphin', 'guard.committed dolphin', 'guard.committed dragon', 'guard.spare-stopped dolphin']),
    );
    // Its listener is gone.
    expect(await portAnswers(sparePort)).toBe(false);
  }, 120_000);

  it("with a spare way in that also serves another name of the machine: once the host's own address is gone, that name's logins go to the spare, and it is stopped through that name", async () => {
    // dolphin is reached through gw (the relay, cut at the checkpoint): gone, its spare port goes with it.
    // dragon names the same machine through a relay of its own whose main port stops answering
    // at the checkpoint too: from then on only the spare answers dragon.
    const dir = scratch('ns-guard-also-');
    const sparePort = await freePort();
    const dragonRelay = await TcpRelay.start(sshd.port);
    const state = path.join(dir, 'dolphin.state');
    const cut = path.join(dir, 'cut');
    writeFileSync(state, 'old\n');
    writeFileSync(
      path.join(dir, 'ssh_config'),
      sshd.clientConfig('gw', { port: relay.port }) + sshd.clientConfig('dolphin') + sshd.clientConfig('dragon', { port: dragonRelay.port }),
    );
    writeFileSync(
      path.join(dir, 'known_hosts'),
      [sshd.knownHostsLine(undefined, relay.port), sshd.knownHostsLine(), sshd.knownHostsLine(undefined, dragonRelay.port), ''].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'guard.yaml'),
      [
        'name: spare by two names',
        'hosts:',
        '  gw: {}',
        `  dolphin: { proxy_jump: gw, spare_access: { port: ${sparePort}, config: ${sshd.configFile}, lifetime: 1m, also: [dragon] } }`,
        '  dragon: {}',
        'phases:',
        '  - name: swap',
        '    guard:',
        '      revert_after: 1m',
        '      revert:',
        `        dolphin: { run: echo old > ${state}, also: [dragon] }`,
        '    steps:',
        `      - run: echo new > ${state}; touch ${cut}`,
        '        host: dolphin',
        "      - checkpoint: dolphin's own address is gone",
        '      - run: echo dragon through the spare',
        '        host: dragon',
        '',
      ].join('\n'),
    );
    relay.refuseNewWhile(() => existsSync(cut));
    dragonRelay.refuseNewWhile(() => existsSync(cut));
    const { run, stateDir } = runCuttingAt(
      ['run', '--plain', '--no-helpers', path.join(dir, 'guard.yaml'), ...clientFlags(dir)],
      /dolphin's own address is gone/,
      () => {
        relay.cut();
        dragonRelay.cut();
      },
    );
    try {
      expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    } finally {
      relay.refuseNewWhile(() => false);
      await dragonRelay.close();
    }
    const text = run.lines.join('\n');
    expect(text).toMatch(
      new RegExp(`nightshift: dolphin: a spare way in is up on port ${sparePort} .*, and so do those to dragon once the block moved the addresses`),
    );
    expect(text).toMatch(/^dragon\| dragon through the spare$/m);
    expect(text).toMatch(/nightshift: dolphin \(now dragon\) answered a new connection: its revert is disarmed and the changes stay/);
    expect(text).toMatch(/nightshift: the spare way in stopped \(dolphin's through dragon\), sessions through it going on/);
    expect(readFileSync(state, 'utf8').trim()).toBe('new');
    const journal = onlySessionJournal(stateDir);
    // dragon's main port did not answer: its logins went to dolphin's spare.
    expect(journal.find((entry) => entry['type'] === 'host.state' && entry['host'] === 'dragon' && entry['through'] !== undefined)).toMatchObject({
      state: 'connected',
      through: expect.stringMatching(new RegExp(`^the spare way in on port ${sparePort} \\(the main port: `)),
    });
    expect(journal.find((entry) => entry['type'] === 'guard.spare-stopped')).toMatchObject({ host: 'dolphin', through: 'dragon' });
    expect(await portAnswers(sparePort)).toBe(false);
  }, 120_000);

  it("power_cycle asks for the host's name, then runs the host's power command on the upgrader's machine", async () => {
    const dir = scratch('ns-power-');
    sshd.writeClientFiles(dir, 'dolphin');
    const marker = path.join(dir, 'cycled');
    writeFileSync(
      path.join(dir, 'power.yaml'),
      [
        'name: power',
        'hosts:',
        `  dolphin: { power: 'echo "power cycle $0" > ${marker}' }`,
        'phases:',
        '  - name: stuck',
        '    steps:',
        '      - power_cycle: dolphin',
        '',
      ].join('\n'),
    );
    const asked: string[] = [];
    const run = converse(
      ['run', '--plain', '--no-helpers', path.join(dir, 'power.yaml'), ...clientFlags(dir)],
      (line) => {
        const typed = /Type "(dolphin)" to run it/.exec(line)?.[1];
        if (typed) asked.push(line);
        return typed;
      },
      { NIGHTSHIFT_STATE_DIR: freshStateDir(), SSH_AUTH_SOCK: '' },
    );
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    expect(asked).toHaveLength(1);
    expect(run.lines.join('\n')).toMatch(/1\.1 Power-cycle dolphin out of band/);
    expect(readFileSync(marker, 'utf8')).toBe('power cycle /bin/sh\n');
  }, 60_000);

  it('extend at a plain prompt moves the deadline 5 minutes later on every host, then the run goes on', async () => {
    const { args, read } = setUp(['      - checkpoint: The modem cable is in the new dragon'], '1m');
    const stateDir = freshStateDir();
    let extended = false;
    const run = converse(
      args,
      (line) => {
        if (!/Waiting for the upgrader\. Type yes/.test(line)) return undefined;
        if (extended) return 'yes';
        extended = true;
        return 'extend';
      },
      { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
    );
    // The checkpoint is asked again after the answer to extend, and confirmed then.
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toMatch(/the guard's deadline moved 5m later on every host/);
    expect(text.match(/Waiting for the upgrader\. Type yes/g)).toHaveLength(2);
    expect(guardEntries(stateDir)).toEqual(
      expect.arrayContaining(['guard.extended dolphin', 'guard.extended dragon', 'guard.committed dolphin', 'guard.committed dragon']),
    );
    const journal = onlySessionJournal(stateDir);
    const deadline = (type: string) => journal.find((entry) => entry['type'] === type && entry['host'] === 'dragon')!['deadline'] as number;
    expect(Math.abs(deadline('guard.extended') - deadline('guard.armed') - 300_000)).toBeLessThan(2500);
    expect([read('dragon'), read('dolphin')]).toEqual(['new', 'new']);
  }, 60_000);

  it('paused inside the block, says the hosts will not wait: when they undo it by themselves; the resume says it again and commits in time', async () => {
    const { args } = setUp(['      - checkpoint: The modem cable is in the new dragon'], '10m');
    const stateDir = freshStateDir();
    const env = { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' };
    const run = converse(args, (line) => (/Waiting for the upgrader\. Type yes/.test(line) ? 'pause' : undefined), env);
    expect(await run.exited, run.lines.join('\n') + run.stderr()).toBe(4);
    expect(run.stderr()).toMatch(
      /nightshift: the guard swap stays armed: (dragon, dolphin|dolphin, dragon) undo the block by themselves at \d\d:\d\d:\d\d here \/ \d\d:\d\d:\d\d site \(in (10m|9m ?5\ds)\) unless the run is resumed and commits it before\n/,
    );
    const sessions = converse(['sessions'], () => undefined, env);
    expect(await sessions.exited).toBe(0);
    expect(sessions.lines.join('\n')).toMatch(/ paused, guard swap reverts at \w{3} \d\d:\d\d here /);
    // The resume says so too, then goes on and commits in time.
    const resumed = converse(
      ['resume', '--plain', ...clientFlags(path.dirname(args[3]!))],
      (line) => (/Type yes to confirm/.test(line) ? 'yes' : undefined),
      env,
    );
    expect(await resumed.exited, resumed.lines.join('\n') + resumed.stderr()).toBe(0);
    expect(resumed.lines.join('\n')).toMatch(
      /nightshift: the guard swap is armed: .* undo the block by themselves at .* \(in \S+\) unless this run commits it before/,
    );
    expect(guardEntries(stateDir)).toEqual(expect.arrayContaining(['guard.committed dolphin', 'guard.committed dragon']));
  }, 60_000);
});

/** A plain run that answers yes at every confirmation, cutting the link first at the one whose text matches. */
function runCuttingAt(args: string[], confirmation: RegExp, cut: () => void) {
  const stateDir = freshStateDir();
  const run = converse(
    args,
    (line) => {
      if (!confirmation.test(line)) return undefined;
      cut();
      return 'yes';
    },
    { NIGHTSHIFT_STATE_DIR: stateDir, SSH_AUTH_SOCK: '' },
  );
  return { run, stateDir };
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
