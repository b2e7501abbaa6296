// Every command as it is typed: its flags, the words it takes, and its --help, declared once.
// src/cli.tsx parses each command line by these declarations; the help texts are built from them.
import { commandHelpText, commandName, type CommandSpec, type Flag, type Flags } from './flags.js';
import { VERSION } from './build-info.js';
import { HELPER_FLAGS } from './helper-options.js';

const PLAIN = { type: 'boolean', help: 'one line per event, answers read from stdin (the default when stdout is not a terminal)' } as const satisfies Flag;
const JSON_LINES = {
  type: 'boolean',
  help: 'like --plain, as JSON lines: journal entries, output lines and questions (README: The --json stream)',
} as const satisfies Flag;
const VAR = { type: 'string', multiple: true, value: 'NAME=VALUE', help: 'override a runbook variable (repeatable)' } as const satisfies Flag;
const SSH_CONFIG = { type: 'string', value: 'FILE', help: 'ssh config to read host aliases from (default ~/.ssh/config)' } as const satisfies Flag;
const KNOWN_HOSTS = {
  type: 'string',
  multiple: true,
  value: 'FILE',
  help: 'known_hosts file to verify host keys with; new keys are recorded in the first one (repeatable; default ~/.ssh/known_hosts, then /etc/ssh/ssh_known_hosts)',
} as const satisfies Flag;
const KEEPALIVE = {
  type: 'string',
  value: 'DURATION',
  help: 'time between keepalives (default 10s); a link silent for three of them counts as dropped and is reconnected: a dead link is noticed within about 30 s by default, 3 x DURATION in general',
} as const satisfies Flag;

const HOSTS = {
  type: 'string',
  value: 'PATTERNS',
  help: 'run each for_each phase on these hosts of its group only: names or globs (web*, vm?), comma-separated; !PATTERN leaves hosts out',
} as const satisfies Flag;
const LIMIT = {
  type: 'string',
  value: 'N',
  help: "run each for_each phase on the first N selected hosts of its group (in the group's order)",
} as const satisfies Flag;

/** What run and again both take, in this order: output, variables and the connection. */
const RUN_FLAGS = {
  plain: PLAIN,
  json: JSON_LINES,
  var: VAR,
  'ssh-config': SSH_CONFIG,
  'known-hosts': KNOWN_HOSTS,
  keepalive: KEEPALIVE,
  hosts: HOSTS,
  limit: LIMIT,
} as const;

const EXIT_STATUSES = 'Exit status: 0 completed, 1 error, 2 usage, 3 ended after the fallback, 4 paused,\n130 interrupted.';

const FROM = {
  type: 'string',
  value: 'PHASE',
  help: "start at PHASE's first step, going again from an earlier session (see Going again below); every step's check: is asked first",
} as const satisfies Flag;

function command<F extends Flags>(spec: CommandSpec<F>): CommandSpec<F> {
  return spec;
}

export const RUN = command({
  usage: 'nightshift run RUNBOOK [options]',
  line: ['nightshift run RUNBOOK', 'run a runbook (full-screen; --plain for scripts)'],
  about: `Runs a runbook: its steps over SSH with live output, checkpoints that wait for the right
person, and a decision (retry, skip with a reason, fall back, pause) when a step fails.
Every event is journaled under the state folder ($XDG_STATE_HOME/nightshift/sessions).`,
  flags: {
    ...RUN_FLAGS,
    lab: { type: 'boolean', help: "run against the runbook's rehearsal lab (nightshift lab up): its ssh config, known hosts and variables" },
    'no-check': {
      type: 'boolean',
      help: 'start without checking the hosts first (see nightshift check; by default a failed check stops the run before its first step, or asks whether to go on anyway at a terminal)',
    },
    from: FROM,
    ...HELPER_FLAGS,
  },
  after: `Going again: with --from PHASE the run starts at PHASE's first step, linked to the
latest earlier session of the same runbook (its steps before PHASE count as done by it,
its captured values carry over; with none, they are shown as not run), and every step
with a check: asks it first: exit 0 marks the step done without running it. See also
nightshift again.

Helpers on site join the chat with any SSH client (nightshift join does it for them):
a sentinel confirms their checkpoints with /ok; an observer (ssh observer@...) only
watches. Steps with needs: hands wait while no sentinel is there or the sentinel is away.

${EXIT_STATUSES}

Plain-mode answers, one per line: the text a destructive step or checkpoint asks for
(or yes), "retry", "skip REASON", "fallback REASON", "pause"; after a resume, a step that
was interrupted also takes "done REASON"; a step held for hands on site (needs: hands, no
sentinel there) takes "override REASON" to go on without them. "say TEXT" writes to the
site's chat at any question; chat messages are printed as they come.

Pausing: p in the full-screen view, "pause" in plain mode, or SIGTERM/SIGHUP, at any
moment: the session is saved, a detached step goes on on its host, and
nightshift resume picks it up.`,
  args: { min: 1, max: 1, problem: 'run needs exactly one runbook file' },
});

export const DEMO = command({
  usage: 'nightshift demo [options]',
  line: ['nightshift demo', 'run the miniature gateway swap in the embedded demo lab'],
  about: `Starts the embedded demo lab (three SSH hosts in sandbox folders on 127.0.0.1: the old
gateway dragon, the new machine dolphin, the mail and DNS server elephant) and runs the
miniature gateway swap in it. Host keys are generated per run and pinned in the lab's own
known_hosts: verification stays on.

--scenario fleet runs a package update over a dozen guests (vm01 to vm12) instead: a
canary first, then batches of four; vm03 fails its package check, its batch finishes and
the rollout halts before the next one, asking whether to go on.

The helper options are as for run; the demo prints how a helper in a second terminal
joins (nightshift join). --relay is on: with nobody joined, the upgrader confirms the
sentinel's checkpoints for them.`,
  flags: {
    plain: PLAIN,
    json: JSON_LINES,
    scenario: {
      type: 'string',
      value: 'NAME',
      default: 'success',
      help: 'what happens: success, all goes well; wrong-route: verification fails after the swap, as in the story (practise the fallback); link-drop: the link to dolphin drops in the middle of the restore (watch the step go on and nothing get lost); fleet: a package update over twelve guests in batches, one of which fails (skip it, fall it back, or stop the rollout)',
    },
    'lab-dir': { type: 'string', value: 'DIR', help: 'keep the lab in DIR instead of a temporary folder' },
    ...HELPER_FLAGS,
  },
  args: { min: 0, max: 0, problem: 'demo takes no runbook: it runs the shipped demo' },
});

export const LAB = command({
  usage: `nightshift lab up RUNBOOK [--tether PID]
nightshift lab down|status RUNBOOK
nightshift lab power-cycle RUNBOOK MACHINE
nightshift lab image`,
  line: ['nightshift lab up RUNBOOK', "start the runbook's rehearsal lab of virtual machines"],
  about: `A rehearsal lab of throwaway virtual machines for a runbook, described next to it in
NAME.lab.yaml: Debian guests booted with QEMU (software emulation, one CPU and 512 MB
each, at most three), each on its own overlay of a cached image, with a blank second disk
where the lab file asks for one. SSH is forwarded from 127.0.0.1 only; the guests reach
nothing else, but for each other on a private network (a bridge with no uplink) and an
observer namespace there that checks things "from outside". A lab file's upstream puts
the upgrader on the provider's side (a namespace on a second bridge with the gateways'
wan0 cards): run --lab then reaches the site only from there, through the gateway. Needs
root and Debian's qemu-system-x86, qemu-utils, debootstrap, e2fsprogs, fdisk and zstd.

  image        build the guest image when it is not cached (debootstrap, about two
               minutes), and say where it is
  up           build the image when need be, boot the machines, and wait until each
               takes an SSH login
  status       each machine's power, SSH and last console line
  power-cycle  what the person on site does for a hung machine: QEMU's reset
  down         power everything off and remove the lab's network and overlays`,
  flags: {
    tether: {
      type: 'string',
      value: 'PID',
      help: '(up) tie the lab to a process: once it has ended, the lab takes itself down (for test runs and scripts that may be killed half way); a lab whose process has ended is taken down by the next lab up',
    },
  },
  after: `Then: nightshift run RUNBOOK --lab. Each machine's console is in its serial.log in the
lab's folder. The image cache: $NIGHTSHIFT_LAB_CACHE, else $XDG_CACHE_HOME/nightshift/lab;
the Debian mirror: $NIGHTSHIFT_LAB_MIRROR (default http://deb.debian.org/debian);
NIGHTSHIFT_LAB_ACCEL=kvm uses KVM where it can run a stock kernel (the default is
QEMU's software emulation, which works everywhere).`,
});

export const LINT = command({
  usage: 'nightshift lint RUNBOOK...',
  line: ['nightshift lint RUNBOOK...', 'check runbooks; errors name file:line:col'],
  about: `Checks runbooks. Problems are printed as FILE:LINE:COL: what is wrong. Exit status 0
when every file is clean, 1 otherwise.`,
  flags: {},
  args: { min: 1, max: Infinity, problem: 'lint needs at least one runbook file' },
});

export const PLAN = command({
  usage: 'nightshift plan RUNBOOK [--json]',
  line: ['nightshift plan RUNBOOK', 'print the runbook as a numbered checklist (--json)'],
  about: `Prints the runbook as a numbered checklist: who does what, in order, what is destructive
and what must be typed to confirm.`,
  flags: { json: { type: 'boolean', help: 'print the same as one JSON document' } },
  args: { min: 1, max: 1, problem: 'plan needs exactly one runbook file' },
});

export const CHECK = command({
  usage: 'nightshift check RUNBOOK [options]',
  line: ['nightshift check RUNBOOK', 'log in to every host and check it has what the runbook needs'],
  about: `Checks, before anything changes, that every host of the runbook is there and has what the
runbook will need: each host's connection settings are worked out (shown as ssh -G or
nightshift's own reading of the ssh config gave them), every host is logged in to, in
parallel, through its jump hosts or ProxyCommand, with host keys verified as in a run
(an unknown key is asked about), and probed for:

  login        the login works
  sh           /bin/sh runs nightshift's scripts
  sftp         an SFTP server (only where the runbook uploads)
  sha256       sha256sum, shasum or openssl (needed where the runbook uploads)
  setsid       setsid, or systemd-run as root (needed for detached steps and reverts)
  systemd      systemd runs and systemctl is there (shown, never required)
  sudo         sudo -n works or asks for a password (where become: sudo is used)
  run folder   the first usable run folder (run_dir, ~/.local/state/nightshift,
               /var/tmp, /tmp): writable, and its free space
  tools        the commands the runbook's checks, wait commands and preflight checks call

The table marks each ✓ (there), ✗ (needed and missing: the reason follows the table) or
– (not needed). nightshift run does the same check before its first step.`,
  flags: {
    json: { type: 'boolean', help: 'print the result as one JSON document' },
    var: VAR,
    'ssh-config': SSH_CONFIG,
    'known-hosts': KNOWN_HOSTS,
    hosts: HOSTS,
    limit: LIMIT,
    lab: { type: 'boolean', help: "check the runbook's rehearsal lab" },
  },
  after: `Exit status: 0 every host has what it needs, 1 something needed is missing, 2 usage or
a runbook that does not load.`,
  args: { min: 1, max: 1, problem: 'check needs exactly one runbook file' },
});

export const SESSIONS = command({
  usage: `nightshift sessions [--all] [--json]
nightshift sessions rm ID [--yes]`,
  line: ['nightshift sessions', 'list paused, interrupted and running sessions (--all)'],
  about: `Lists the sessions that are paused, interrupted (nightshift was killed or the machine
went down) or running: runbook, state, the step they stopped at, and since when, in both
sites' clocks. On a terminal too narrow for the table, each session takes a few lines.

  rm ID   discard a session no nightshift has open (a demo stopped with Ctrl-C, say), so
          that resume without an ID cannot pick it: its journal, logs and reports are
          deleted; what it did on the hosts stays. Asks first, on the terminal.`,
  flags: {
    all: { type: 'boolean', help: 'list ended ones too' },
    json: { type: 'boolean', help: 'print the list as JSON' },
    yes: { type: 'boolean', help: '(rm) remove without asking; needed when not on a terminal' },
  },
  args: { min: 0, max: 2, problem: 'sessions takes no arguments, or rm ID' },
});

export const RESUME = command({
  usage: 'nightshift resume [ID] [options]',
  line: ['nightshift resume [ID]', 'go on with a paused or interrupted session'],
  about: `Goes on with a paused or interrupted session (the latest one when no ID is given; a
unique beginning of the ID is enough) at the exact step, with the runbook, variables and
connection settings it was started with. A detached step that was running is followed
again (or its result collected when it ended meanwhile). Any other step that was in
flight is never simply run again: its check runs first when it has one, otherwise you
choose: retry (run it again), done REASON (it did finish), or fall back.

The connection and helper options are as for run; given here, they replace the session's.`,
  flags: {
    plain: PLAIN,
    json: JSON_LINES,
    'accept-runbook-change': {
      type: 'boolean',
      help: 'go on although the runbook file changed since the session started (the changed steps are listed either way)',
    },
    'accept-stale-state': {
      type: 'boolean',
      help: 'go on from a saved state that fell behind the journal (it could not be written, a full disk say, before nightshift stopped): resume lists the steps recorded since and refuses until you have looked at them; they are then taken up again',
    },
    'ssh-config': SSH_CONFIG,
    'known-hosts': KNOWN_HOSTS,
    keepalive: KEEPALIVE,
    ...HELPER_FLAGS,
  },
  after: 'Exit status: as for run; 1 when there is nothing to resume or the session is in use.',
  args: { min: 0, max: 1, problem: 'resume takes at most one session ID' },
});

export const AGAIN = command({
  usage: 'nightshift again [ID] [--from PHASE] [options]',
  line: ['nightshift again [ID]', 'go again from a session that fell back or ended'],
  about: `Starts a new session of a session's runbook (the latest session when no ID is given; a
unique beginning of the ID is enough) once it has ended: fell back, or completed. The
runbook file is read again (a change since is said, and taken: fixing the runbook is
often why one goes again); the session's variables, connection settings and captured
values carry over. The new session starts at --from PHASE, by default the phase of the
step the fallback started from (or the first phase with a step not done); the steps
before it count as done by the old session, and every step with a check: asks it first:
exit 0 marks the step done (journaled with what the check printed) without running it.
Each session's report links the other; the old session is not changed.

A paused or interrupted session is not gone again from: nightshift resume goes on with it.
The other options are as for run; --var and the connection options given here replace
the session's.`,
  flags: {
    from: { ...FROM, help: "start at PHASE's first step (default: where the fallback started, or the first phase with a step not done)" },
    ...RUN_FLAGS,
    'no-check': { type: 'boolean', help: 'start without checking the hosts first (as for run)' },
    ...HELPER_FLAGS,
  },
  after: `${EXIT_STATUSES}`,
  args: { min: 0, max: 1, problem: 'again takes at most one session ID' },
});

export const REPORT = command({
  usage: 'nightshift report [ID] [options]',
  line: ['nightshift report [ID]', "write a session's record as HTML and Markdown (--cast)"],
  about: `Writes the record of a session (the latest one when no ID is given) as a self-contained
HTML page and as Markdown, beside its journal: a timeline of phases and steps in both
sites' clocks, every checkpoint with who confirmed it and when, decisions with their
reasons, the chat, and each step's command, exit status and output.`,
  flags: {
    output: {
      type: 'string',
      value: 'FILE',
      help: "write the HTML page to FILE (default: report.html in the session's folder); the Markdown goes beside it as .md",
    },
    cast: { type: 'string', value: 'FILE', help: 'also export the output as an asciicast v2 file (asciinema play)' },
  },
  args: { min: 0, max: 1, problem: 'report takes at most one session ID' },
});

export const JOIN = command({
  usage: 'nightshift join [PORT | HOST:PORT] [--observer] [--dry-run]',
  line: ['nightshift join [PORT]', "join an upgrader's session as the helper on site"],
  about: `Joins an upgrader's session as the helper on site: runs ssh to the helper channel and
asks for the join code the upgrader reads out. Without an argument it joins a session
running on this machine (its key is pinned, no question asked), else localhost:2222, the
port of the tunnel on a site host, when something answers there. In the chat: /ok confirms what is asked of you,
/away 60 lunch and /back say where you are, Tab shows the output, /quit leaves.`,
  flags: {
    observer: { type: 'boolean', help: 'join read-only (ssh observer@...): see and chat, not confirm' },
    'dry-run': { type: 'boolean', help: 'print the ssh command instead of running it' },
  },
  args: { min: 0, max: 1, problem: 'join takes at most one PORT or HOST:PORT' },
});

export const SCHEMA = command({
  usage: 'nightshift schema',
  line: ['nightshift schema', 'print the runbook JSON Schema'],
  about: 'Prints the runbook JSON Schema (for editors: yaml-language-server and others).',
  flags: {},
});

export const PREFS = command({
  usage: 'nightshift prefs [set KEY VALUE | unset KEY]',
  line: ['nightshift prefs', 'show or change preferences (theme, site time zone, bell)'],
  about: `Shows the upgrader's preferences, or changes one:
  theme     color (default) or monochrome: no colours (marks differ in shape anyway)
  site-tz   the site's time zone for runbooks that name no sites (default: the local one)
  bell      on (default) or off: the terminal's bell when something starts waiting for
            you or a helper writes while the chat is closed (the title says so either way)
The file is in $NIGHTSHIFT_CONFIG_DIR, else $XDG_CONFIG_HOME/nightshift, else
~/.config/nightshift.`,
  flags: {},
});

/** In the order `nightshift --help` lists them. */
const COMMANDS: readonly CommandSpec[] = [RUN, DEMO, LAB, LINT, PLAN, CHECK, SESSIONS, RESUME, AGAIN, REPORT, JOIN, SCHEMA, PREFS];

export const MAIN_HELP = `nightshift ${VERSION}: attended remote upgrades

Usage:
${[...COMMANDS.map((spec) => spec.line), ['nightshift help COMMAND', 'details of one command'] as const]
  .map(([synopsis, summary]) => `  ${synopsis.padEnd(30)}${summary}`)
  .join('\n')}

Keys in the full-screen view: ? lists them.
State: $NIGHTSHIFT_STATE_DIR, else $XDG_STATE_HOME/nightshift, else ~/.local/state/nightshift.`;

export function commandHelp(command: string): string | undefined {
  const spec = COMMANDS.find((candidate) => commandName(candidate) === command);
  return spec ? commandHelpText(spec) : undefined;
}
