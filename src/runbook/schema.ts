// The runbook file format. One zod schema is the truth for the loader, the error messages
// and the JSON Schema that editors use (`nightshift schema`).
import { z } from 'zod';
import { captureSchema } from './capture-schema.js';
import { DURATION_PATTERN } from './duration.js';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

const name = (what: string) => z.string().regex(NAME_PATTERN, `a ${what} is lower-case letters, digits, '-' and '_', starting with a letter or digit`);

const duration = z
  .string()
  .regex(DURATION_PATTERN, 'a duration is a number with a unit: 500ms, 30s, 5m, 2h or 1h30m')
  .describe('A duration such as 500ms, 30s, 5m, 2h or 1h30m.');

const text = z.string().min(1, 'this text must not be empty');

/** `become`: sudo runs the step's commands as root; none (or false) opts a step out of its host's. */
const become = z
  .union([z.enum(['sudo', 'none']), z.literal(false)])
  .describe(
    "sudo: run as root through sudo (its password, if any, is asked once per host, hidden, and kept in memory only); none or false: as the login user. A step's value overrides its host's.",
  );

export const siteSchema = z
  .strictObject({
    name: text.describe('A name the humans recognise, e.g. "Taipei office".'),
    tz: text.describe('IANA time zone, e.g. Asia/Taipei.'),
  })
  .describe('A place and its clock.');

export const hostKeySchema = z
  .strictObject({
    key: text.optional().describe('The public key as "type base64" (as in known_hosts or a .pub file).'),
    fingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a fingerprint is SHA256: and 43 base64 characters, as ssh-keygen -l prints it')
      .optional()
      .describe("The key's SHA256 fingerprint, as ssh-keygen -l prints it."),
    from: name('phase name').optional().describe('First phase in which this key is accepted (default: from the start).'),
    until: name('phase name').optional().describe('Last phase in which this key is accepted (default: to the end).'),
  })
  .describe('A host key the machine may present, and in which phases.');

export const hostSchema = z
  .strictObject({
    alias: text.optional().describe('Host alias in ~/.ssh/config to start from (default: the host name itself).'),
    address: text.optional().describe('Address or DNS name to connect to (overrides HostName).'),
    user: text.optional().describe('Login user (overrides User).'),
    port: z.number().int().min(1).max(65535).optional().describe('SSH port (overrides Port).'),
    identity_file: text.optional().describe('Private key file to offer (in addition to the agent).'),
    proxy_jump: text.optional().describe('Jump through these hosts first, as ssh -J: a runbook host or [user@]host[:port], comma-separated.'),
    run_dir: z
      .string()
      .regex(/^\/[^\n\r]*$/, 'it must be an absolute path on the host, such as /srv/nightshift')
      .optional()
      .describe(
        "Folder on the host for nightshift's run folders (detached steps, reverts), tried first; then ~/.local/state/nightshift, /var/tmp/nightshift-UID and /tmp/nightshift-UID.",
      ),
    become: become.optional(),
    become_pty: z
      .boolean()
      .optional()
      .describe(
        "true: sudo there is always called in a pty (for `Defaults requiretty`); without it nightshift switches to a pty when sudo asks for a terminal. The command's output still comes back as stdout and stderr, through two fifos in /tmp.",
      ),
    appears_in: name('phase name')
      .optional()
      .describe(
        'The phase whose steps make this host: an address the runbook gives a machine (the old gateway on a spare address). The check before the first step does not try it.',
      ),
    power: text
      .optional()
      .describe(
        "A command run on the upgrader's machine that power-cycles this host out of band, e.g. ipmitool -I lanplus -H bmc-dolphin -U admin -E chassis power cycle, or a PDU's script; used by power_cycle steps, after the upgrader typed the host's name.",
      ),
    spare_access: z
      .strictObject({
        port: z.number().int().min(1).max(65535).describe('The port the second SSH server listens on.'),
        server: z
          .enum(['openssh', 'dropbear'])
          .optional()
          .describe("Which server: OpenSSH's sshd with the host's own config and host keys, or dropbear (default: sshd where the host has it, else dropbear)."),
        config: z
          .string()
          .regex(/^\/[^\n\r]*$/, 'it must be an absolute path on the host')
          .optional()
          .describe('OpenSSH: the sshd config the spare is started with (default /etc/ssh/sshd_config); only its port differs.'),
        lifetime: duration.optional().describe('The spare stops by itself this long after it started, should nobody stop it (default 2h).'),
        also: z
          .array(z.string())
          .min(1)
          .optional()
          .describe(
            "Other runbook hosts that reach this machine once the block moved its addresses (the new gateway takes the gateway's address): a login to one of them that its main port does not answer is tried on this spare's port too, with that host's own known_hosts name; the spare is stopped through the first of the host and these that answers.",
          ),
      })
      .optional()
      .describe(
        "A second way in for a guard on this host (like do-release-upgrade's sshd on port 1022): a second SSH server is started before the guard arms, proved by a login through it over a new connection, used whenever the main one does not answer, and stopped after the commit or at the run's end. As root (the host's become).",
      ),
    host_keys: z
      .array(hostKeySchema)
      .min(1, 'host_keys needs at least one key')
      .optional()
      .describe(
        'The keys this machine may present and when, e.g. the old key until the restore phase and the new one after it. When given, only these are accepted.',
      ),
  })
  .describe('How to reach a machine over SSH. Values given here override ~/.ssh/config; {{var}} is substituted, and each must stay one word.');

const onFail = z.enum(['ask', 'fallback', 'continue']).describe('What happens when the step fails: ask the upgrader (default), start the fallback, or go on.');

const when = text.describe(
  "Run the step only when this holds, else skip it with the reason: or, and, not, ( ), == != < <= > >= and =~ (regular expression) on variables and captured values by name, facts of a host as HOST.FACT (host.FACT: the step's own host; facts: systemd, cpus, distro, distro_like, distro_version, kernel, arch), 'strings', numbers, true and false. E.g. new.systemd and new.cpus >= 2.",
);

const common = {
  id: name('step id').optional().describe('Stable id used in the journal (default: <phase>-<n>).'),
  title: text.optional().describe('Short title shown in the runbook panel.'),
  timeout: duration.optional().describe('The step fails when it runs longer than this.'),
  on_fail: onFail.optional(),
  needs: z
    .enum(['hands'])
    .optional()
    .describe(
      'hands: the step needs someone on site; it is held while no sentinel is present or the sentinel is away, unless the upgrader goes on with a reason.',
    ),
  when: when.optional(),
  skip_done: z
    .boolean()
    .optional()
    .describe(
      "true: the step's `check:` is asked before it runs, on a fresh run too; exit 0 marks the step done (journaled with what the check printed) instead of running it. Needs `check:`.",
    ),
};

const check = text.describe(
  'An "already done?" probe: when nightshift stopped while the step ran, this command runs first (where the step runs); exit 0 marks the step done instead of running it again.',
);

const destructive = z
  .union([z.boolean(), text])
  .describe('Ask for typed confirmation before running: true asks for the host name, a string asks for that text (e.g. the disk).');

export const runStepSchema = z
  .strictObject({
    run: text.describe('Shell command run on the host; each {{var}} is quoted for where it stands (a word, inside "..." or \'...\').'),
    host: name('host name').describe('The host from `hosts` to run on.'),
    destructive: destructive.optional(),
    attach: z
      .boolean()
      .optional()
      .describe('false runs the command in the foreground of the SSH channel; by default it runs detached on the host and survives a dropped link.'),
    check: check.optional(),
    become: become.optional(),
    revert_after: duration
      .optional()
      .describe(
        'A dead-man timer, like netplan try: before the command runs, `revert` is armed on the host to run after this long; it is disarmed only when, after the command succeeded, a new SSH connection reaches the host in time. Needs `revert`.',
      ),
    revert: text.optional().describe('With revert_after: the shell command that undoes the change on the host; {{var}} is quoted as in run.'),
    capture: captureSchema.optional(),
    ...common,
  })
  .describe('Run a command on a remote host over SSH.');

export const localStepSchema = z
  .strictObject({
    local: text.describe("Shell command run on the upgrader's machine, in the runbook's folder."),
    destructive: destructive.optional(),
    check: check.optional(),
    capture: captureSchema.optional(),
    ...common,
  })
  .describe("Run a command on the upgrader's machine.");

export const powerCycleStepSchema = z
  .strictObject({
    power_cycle: name('host name').describe("The host whose `power:` command runs, on the upgrader's machine, once the upgrader has typed the host's name."),
    ...common,
  })
  .describe('Power-cycle a host out of band (its `power:` command: a BMC, a PDU), when no hands are on site; asked first, like a destructive step.');

export const checkpointStepSchema = z
  .strictObject({
    checkpoint: text.describe('What the person must have done or checked.'),
    by: z.enum(['upgrader', 'sentinel', 'both']).optional().describe('Who confirms (default upgrader).'),
    confirm: text.optional().describe('Text the person must type to confirm (e.g. the host name).'),
    per: z
      .enum(['host', 'batch'])
      .optional()
      .describe('In a for_each phase: host (default) asks once per host; batch waits until every host of the batch got there and asks once for the batch.'),
    ...common,
  })
  .describe('Stop until the right person confirms.');

export const waitStepSchema = z
  .strictObject({
    wait: z.enum(['ssh', 'port', 'command']).describe('ssh: an SSH login succeeds; port: a TCP port accepts; command: a command exits 0 on the host.'),
    host: name('host name').describe('The host waited for.'),
    port: z.number().int().min(1).max(65535).optional().describe('For wait: port, the TCP port.'),
    command: text.optional().describe('For wait: command, the command to repeat until it exits 0.'),
    every: duration.optional().describe('Pause between attempts (default 2s).'),
    become: become.optional().describe('For wait: command: run the command as root through sudo (none/false: as the login user).'),
    ...common,
  })
  .describe('Wait, bounded by timeout (default 5m), until a host answers.');

export const uploadStepSchema = z
  .strictObject({
    upload: text.describe("File on the upgrader's machine (relative to the runbook's folder)."),
    to: text.describe('Path on the host; a path ending in / keeps the file name.'),
    host: name('host name').describe('The host to upload to.'),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'a mode is three octal digits, e.g. 644')
      .optional()
      .describe('File mode on the host, e.g. 644.'),
    become: become
      .optional()
      .describe(
        'sudo: the file is uploaded as the login user to ~/.cache/nightshift/uploads, checked, then put in place by root (owned by root); none/false: as the login user.',
      ),
    ...common,
  })
  .describe('Copy a file to a host over SFTP: progress shown, sha256 checked, a cut transfer resumed.');

export const rebootStepSchema = z
  .strictObject({
    reboot: name('host name').describe('The host to reboot.'),
    command: text.optional().describe('How to reboot it (default: systemctl reboot, else reboot).'),
    become: become.optional(),
    hostname: text.optional().describe('The hostname the machine must have when it is back.'),
    root: text.optional().describe('The root filesystem the machine must come back on: a device (/dev/vda1) or UUID=... (with into: the new root).'),
    into: z
      .strictObject({
        root: text.describe('The new root filesystem: a device (/dev/vdb1) or UUID=...'),
        kernel: text.optional().describe('The kernel, as a path on the new root (default /vmlinuz).'),
        initrd: text.optional().describe('The initial ramdisk, as a path on the new root (default /initrd.img).'),
        args: text.optional().describe("Kernel arguments besides root= and panic= (default: the running kernel's, e.g. its console=)."),
        panic: duration.optional().describe('A kernel panic reboots after this long (default 10s), and GRUB then starts the old root again.'),
      })
      .optional()
      .describe(
        'Boot a new root once: a GRUB entry for it in custom.cfg and grub-reboot, so that a panic or a power-cycle brings the old root back; when the new root is verified, its entry becomes the default.',
      ),
    ...common,
  })
  .describe('Reboot a host, wait for it to come back within timeout (default 5m), and check what came back.');

export const SIZE_PATTERN = /^\d+(\.\d+)?[KMG]$/;

/** The checks a preflight step can make, each named by its one key. */
export const checkSchemas = {
  fstab: z
    .strictObject({
      fstab: z
        .union([z.literal(true), text])
        .describe(
          "Every UUID=, PARTUUID= and LABEL= in this fstab (true: /etc/fstab) is a filesystem on the machine (blkid), and so is the root= of the running kernel and of GRUB's default entry.",
        ),
    })
    .describe('Filesystems named in fstab and by the boot entry exist.'),
  mem_available: z
    .strictObject({
      mem_available: z
        .string()
        .regex(SIZE_PATTERN, 'a size is a number with K, M or G, e.g. 256M')
        .describe('At least this much MemAvailable in /proc/meminfo, e.g. 256M.'),
    })
    .describe('Enough memory is available.'),
  disk: z
    .strictObject({
      disk: z
        .strictObject({
          device: text.describe('The device, e.g. /dev/vdb.'),
          serial: text.optional().describe('Its serial number (lsblk -dno SERIAL).'),
          ptuuid: text.optional().describe('Its partition table id (blkid -po value -s PTUUID, sfdisk --disk-id).'),
        })
        .describe('The device and the serial or partition table id it must have; the upgrader types that id to go on.'),
    })
    .describe('The target disk is the one meant.'),
  address_free: z
    .strictObject({
      address_free: z
        .strictObject({
          address: text.describe('The IPv4 address about to be claimed.'),
          interface: text.describe('The interface it will be on, e.g. eth1.'),
        })
        .describe('Nobody answers for the address on that link (arping -D; ping and ip neigh when arping is missing).'),
    })
    .describe('An address is free before it is claimed.'),
  grubenv: z
    .strictObject({
      grubenv: z.literal(true).describe('GRUB can write its environment block: /boot/grub/grubenv exists on a plain partition (not LVM, RAID, ZFS or Btrfs).'),
    })
    .describe('GRUB can write grubenv (for a one-shot boot entry).'),
} as const;

export const CHECK_KINDS = ['fstab', 'mem_available', 'disk', 'address_free', 'grubenv'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const preflightStepSchema = z
  .strictObject({
    preflight: name('host name').describe('The host to check, read-only.'),
    checks: z
      .array(
        z.union(
          CHECK_KINDS.map((kind) => checkSchemas[kind]) as unknown as [
            typeof checkSchemas.fstab,
            typeof checkSchemas.mem_available,
            typeof checkSchemas.disk,
            typeof checkSchemas.address_free,
            typeof checkSchemas.grubenv,
          ],
        ),
      )
      .min(1, 'a preflight step needs at least one check')
      .describe('The checks, each reported ok or FAILED with why; the step fails when any fails.'),
    become: become.optional().describe('sudo: the checks run as root through sudo (blkid, GRUB files); none/false: as the login user.'),
    ...common,
  })
  .describe('Read-only checks on a host before a dangerous change.');

const absolutePath = z
  .string()
  .regex(/^\/[^\n\r\0]*$/, 'it must be an absolute path on the host, such as /etc/hostname')
  .describe('The file on the host (absolute path); {{var}} is put in as text.');

export const editStepSchema = z
  .strictObject({
    edit: absolutePath,
    host: name('host name').describe('The host whose file is changed.'),
    content: z.string().optional().describe('The whole file, from this text ({{var}} put in as text). Excludes the other changes.'),
    ensure_lines: z
      .array(
        z.union([
          text,
          z.strictObject({
            line: text.describe('The line that must be in the file.'),
            after: text.optional().describe('When missing, it goes after the last line matching this regular expression (else at the end).'),
          }),
        ]),
      )
      .min(1)
      .optional()
      .describe('Lines that must be in the file; a missing one is added (at the end, or after the last line matching `after`).'),
    replace: z
      .array(
        z.strictObject({
          match: text.describe('A regular expression (JavaScript); a line it matches is replaced whole.'),
          with: z.string().describe('The new line; $1, $<name> and $& refer to the match.'),
        }),
      )
      .min(1)
      .optional()
      .describe('Lines matching a regular expression are replaced, e.g. match: ^#?PasswordAuthentication .*, with: PasswordAuthentication no.'),
    block: z
      .strictObject({
        marker: text.describe("The block's name: it stands between '# BEGIN marker' and '# END marker' lines."),
        text: z.string().describe('The lines between the markers.'),
      })
      .optional()
      .describe('A block of lines nightshift owns, between marker lines; added at the end when missing.'),
    set: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a key is letters, digits, _, . and -'), z.union([z.string(), z.number()]))
      .optional()
      .describe('key=value lines (as in /etc/default/grub): each key is set to its value, or added when missing.'),
    separator: z.string().min(1).optional().describe("For set: what stands between key and value (default '=')."),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'a mode is three octal digits, e.g. 644')
      .optional()
      .describe('For a file that does not exist yet: its mode, e.g. 644 (an existing file keeps its owner, group and mode).'),
    become: become.optional().describe('sudo: the file is read and written as root through sudo; none/false: as the login user.'),
    destructive: text.optional().describe('What the upgrader types to approve the diff (default: the host name).'),
    ...common,
  })
  .describe(
    'Change a file on a host (the changes are made in this order: replace, ensure_lines, set, block): the diff against the file as it is shows before, and is approved; the original is kept next to it as PATH.nightshift-SESSION-STEP; nothing to change means nothing asked.',
  );

export const undoStepSchema = z
  .strictObject({
    undo: name('step id').describe('The id of the edit step whose change is undone.'),
    ...common,
  })
  .describe('Put back the file an edit step changed, from the backup it kept on the host (in the fallback, or a later phase).');

export const noteStepSchema = z
  .strictObject({
    note: text.describe('Text for the humans; shown and journaled, nothing runs.'),
    id: common.id,
    title: common.title,
    needs: common.needs,
    when: common.when,
  })
  .describe('A note for the humans.');

/** The key whose presence decides a step's kind, in the order the union lists them. */
export const STEP_KINDS = ['run', 'local', 'upload', 'reboot', 'preflight', 'checkpoint', 'wait', 'note', 'edit', 'undo', 'power_cycle'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const stepSchemas = {
  run: runStepSchema,
  local: localStepSchema,
  upload: uploadStepSchema,
  reboot: rebootStepSchema,
  preflight: preflightStepSchema,
  checkpoint: checkpointStepSchema,
  wait: waitStepSchema,
  note: noteStepSchema,
  edit: editStepSchema,
  undo: undoStepSchema,
  power_cycle: powerCycleStepSchema,
} as const;

export const stepSchema = z.union(
  STEP_KINDS.map((kind) => stepSchemas[kind]) as unknown as [
    typeof runStepSchema,
    typeof localStepSchema,
    typeof uploadStepSchema,
    typeof rebootStepSchema,
    typeof preflightStepSchema,
    typeof checkpointStepSchema,
    typeof waitStepSchema,
    typeof noteStepSchema,
    typeof editStepSchema,
    typeof undoStepSchema,
    typeof powerCycleStepSchema,
  ],
);

export const guardSchema = z
  .strictObject({
    revert_after: duration.describe(
      'The dead-man: armed on every host under revert before the first step, each revert runs there this long after unless the guard is committed (after the last step of the block succeeded, from a new connection). + on the screen adds 5 minutes.',
    ),
    revert: z
      .record(
        z.string(),
        z.union([
          text,
          z.strictObject({
            run: text.describe('The shell command that undoes on this host what the block changes.'),
            also: z
              .array(z.string())
              .min(1)
              .describe(
                "Other runbook hosts that reach this machine once the block moved its addresses (dragon becomes dragon_old on a spare address): tried in order after the host's own name; the one where this guard's folder is, is the machine.",
              ),
          }),
        ]),
      )
      .refine((reverts) => Object.keys(reverts).length > 0, 'a guard needs at least one host under revert')
      .describe(
        'Per host: the shell command that undoes on that host what the block changes ({{var}} is quoted as in run), or { run, also }. Each runs on its host by itself at the deadline, also when nightshift is cut off.',
      ),
    through: name('phase name')
      .optional()
      .describe('The last phase of the block (default: this phase alone); the block is this phase and the ones after it up to that one.'),
  })
  .describe(
    'One dead-man over a block of steps across hosts, e.g. an identity swap, a cable moved on site and checks from outside. A failure or a fallback inside the block fires the reverts at once; a host nobody reaches reverts by itself.',
  );

export const phaseSchema = z
  .strictObject({
    name: name('phase name').describe('Phase name, e.g. partition, restore, cutover.'),
    title: text.optional(),
    when: when
      .optional()
      .describe("Each step of the phase runs only when this holds (checked before the step's own when:); host.FACT is each step's own host."),
    steps: z.array(stepSchema).min(1, 'a phase needs at least one step'),
    skip_done: z
      .boolean()
      .optional()
      .describe("true: every step of the phase that has a `check:` asks it first and is marked done when it passes (a step's own skip_done wins)."),
    fallback: z
      .array(stepSchema)
      .optional()
      .describe(
        "The phase's own fallback: a step of this phase that falls back (on_fail: fallback, or fallback by hand) runs these instead of the runbook's fallback; if one of them fails, the runbook's fallback follows.",
      ),
    fallback_then: z
      .enum(['stop', 'outer'])
      .optional()
      .describe("After the phase's fallback succeeded: stop (default; the run ends fallen back) or outer (go on with the runbook's fallback)."),
    guard: guardSchema.optional(),
  })
  .describe('An ordered group of steps.');

const paramName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a param name is letters, digits and _');

const paramReference = z
  .string()
  .regex(/^\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}$/, 'a param reference is {{name}}')
  .describe("One of the template's params, as {{name}}: the host given for it.");

/** In a template, a step's host field may also be exactly {{param}}. */
const templateStepSchema = z.union(
  STEP_KINDS.map((kind) => {
    const schema = stepSchemas[kind] as z.ZodObject;
    const fields = ['host', 'preflight', 'reboot'].filter((field) => field in schema.shape);
    return schema.extend(Object.fromEntries(fields.map((field) => [field, z.union([schema.shape[field] as z.ZodType, paramReference])])));
  }) as unknown as [z.ZodObject, z.ZodObject],
);

export const templateSchema = phaseSchema
  .omit({ name: true, guard: true })
  .extend({
    steps: z.array(templateStepSchema).min(1, 'a template needs at least one step'),
    fallback: z
      .array(templateStepSchema)
      .optional()
      .describe(phaseSchema.shape.fallback.description ?? ''),
    params: z
      .array(paramName)
      .optional()
      .describe(
        'The names the template takes, each used as {{name}} inside, like a variable of that phase only (quoted in commands as variables are). A step\'s host, preflight or reboot may be exactly "{{name}}": the host given for it.',
      ),
  })
  .describe('A phase without a name, with parameters: every phase that says use: with this name gets its steps, with its own values.');

export const templatePhaseSchema = z
  .strictObject({
    name: name('phase name').describe('Phase name; its steps get the ids NAME-1, NAME-2, ... unless the template gives ids.'),
    title: text.optional().describe("The phase's title (default: the template's title, with the params put in)."),
    use: name('template name').describe('The template (under templates, here or in an included file) this phase is made from.'),
    with: z
      .record(paramName, z.union([z.string(), z.number()]))
      .optional()
      .describe("A value for each of the template's params, e.g. { guest: vm1 }."),
    when: phaseSchema.shape.when,
    skip_done: phaseSchema.shape.skip_done,
    fallback: phaseSchema.shape.fallback,
    fallback_then: phaseSchema.shape.fallback_then,
    guard: phaseSchema.shape.guard,
  })
  .describe('A phase made from a template.');

export const includeSchema = z
  .strictObject({
    include: text.describe(
      'A runbook file, relative to this one, whose phases come here and whose templates can be used. It holds only templates and phases: hosts, vars and the rest come from the main runbook.',
    ),
  })
  .describe("Another file's phases, put here.");

export const sentinelSchema = z
  .strictObject({
    host: name('host name').describe("The site host where helpers reach nightshift: its 127.0.0.1 gets a reverse tunnel to nightshift's helper endpoint."),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe("The port on the host's 127.0.0.1 (default 2222): the helper types ssh -p PORT sentinel@localhost there."),
    notify: z
      .enum(['wall', 'write', 'none'])
      .optional()
      .describe('While no helper has joined, what the site must know is sent to its consoles: wall (default), write to `user`, or none.'),
    user: name('user name').optional().describe('For notify: write, the user whose terminal gets the message.'),
    every: duration.optional().describe('How often an unanswered call for the site is sent again (default 5m).'),
  })
  .describe('How the on-site helper (sentinel) reaches nightshift and is called when nobody has joined.');

export const SECRET_SOURCES = ['ask', 'env', 'file', 'command'] as const;

export const secretSchema = z
  .strictObject({
    from: z
      .enum(SECRET_SOURCES)
      .describe(
        "Where the value comes from: ask (typed hidden at the start of each run and resume), env (an environment variable), file (a file's content), command (what a local command prints, e.g. pass show db).",
      ),
    prompt: text.optional().describe("For from: ask, the question shown (default: the secret's name)."),
    name: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is letters, digits and _')
      .optional()
      .describe('For from: env, the environment variable that holds the value.'),
    path: text
      .optional()
      .describe("For from: file, the file that holds the value (~ is the upgrader's home; relative to the runbook's folder); one trailing newline is dropped."),
    run: text
      .optional()
      .describe(
        "For from: command, the command run on the upgrader's machine (in the runbook's folder) that prints the value; one trailing newline is dropped.",
      ),
  })
  .describe(
    'A secret variable: used as {{name}} in shell commands only, read or asked at the start of every run and resume, never stored, and masked in every output, journal, report and chat.',
  );

export const runbookSchema = z
  .strictObject({
    name: text.describe('What this runbook does, in a few words.'),
    description: z.string().optional(),
    sites: z
      .strictObject({ upgrader: siteSchema.optional(), site: siteSchema.optional() })
      .optional()
      .describe("The upgrader's place and the site's place, for the clocks."),
    hosts: z.record(name('host name'), z.union([hostSchema, z.null()])).optional(),
    vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name is letters, digits and _'), z.union([z.string(), z.number()])).optional(),
    secrets: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a secret's name is letters, digits and _"), secretSchema)
      .optional()
      .describe('Secret variables, e.g. db_pw: { from: ask } or api: { from: env, name: API_TOKEN }.'),
    phases: z.array(phaseSchema).min(1, 'a runbook needs at least one phase'),
    fallback: z.array(stepSchema).optional().describe('Steps that swing everything back; run from any failure or by hand.'),
    sentinel: sentinelSchema.optional(),
    skip_done: z
      .boolean()
      .optional()
      .describe("true: every step that has a `check:` asks it first and is marked done when it passes (a phase's or step's own skip_done wins)."),
  })
  .describe('A nightshift runbook.');

export type RawRunbook = z.infer<typeof runbookSchema>;
export type RawStep = z.infer<typeof stepSchema>;
export type RawHost = z.infer<typeof hostSchema>;
export type RawSecret = z.infer<typeof secretSchema>;
export type RawCheck = z.infer<(typeof checkSchemas)[CheckKind]>;

const count = (what: string) => z.union([z.number().int().min(0), z.string().regex(/^\s*\d+(\.\d+)?\s*%\s*$/, 'a percentage, e.g. "25%"')]).describe(what);

/** A phase run once per host of a group: the loader makes it one phase per host before the schema check. */
const fleetFields = {
  for_each: z
    .union([name('group name'), z.strictObject({ group: name('group name'), as: paramName.optional() })])
    .describe(
      "Run this phase once per host of the group (under groups:): each host its own steps, state, captured values and fallback. The host is {{host}} in the steps (or {{as}}; with use:, the template's one param).",
    ),
  serial: count('Hosts per batch (or a percentage of them); the hosts of a batch work in parallel. Default: all in one batch.').optional(),
  max_fail: count('Failed hosts the rollout tolerates (or a percentage); one more stops it after its batch and asks. Default 0.').optional(),
  canary: z.number().int().min(0).optional().describe('The first N hosts go alone first; a checkpoint asks the upgrader before the rest start.'),
  parallel: z.number().int().min(1).optional().describe('At most this many hosts of a batch at work at once. Default 20.'),
};

const groupSchema = z
  .union([
    z.array(name('host name')),
    z.strictObject({ aliases: text.describe("A pattern (* and ?) over the ssh config's Host aliases, e.g. web*.") }),
    z.strictObject({ file: text.describe("An inventory file, relative to the runbook's folder: one host per line, # comments.") }),
  ])
  .describe('Hosts by name: declared under hosts:, or ssh aliases of that name.');

/** The file as written: runbookSchema plus templates, use and include, which the loader puts together before checking. */
export const runbookSourceSchema = runbookSchema.extend({
  templates: z
    .record(name('template name'), templateSchema)
    .optional()
    .describe('Phase templates by name, used by phases with use: NAME and with: { param: value }.'),
  groups: z.record(name('group name'), groupSchema).optional().describe('Host groups by name, for phases that say for_each: GROUP.'),
  phases: z
    .array(
      z.union([
        phaseSchema,
        templatePhaseSchema,
        phaseSchema.extend({ steps: z.array(templateStepSchema).min(1), ...fleetFields }).describe('A phase run once per host of a group.'),
        templatePhaseSchema.extend(fleetFields).describe('A phase made from a template, run once per host of a group.'),
        includeSchema,
      ]),
    )
    .min(1, 'a runbook needs at least one phase'),
});

export function runbookJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://nightshift.invalid/schema/runbook.schema.json',
    title: 'nightshift runbook',
    ...(z.toJSONSchema(runbookSourceSchema, { target: 'draft-2020-12', reused: 'ref' }) as Record<string, unknown>),
    // Top-level x- keys hold YAML anchors for the rest of the file; the loader ignores them.
    patternProperties: { '^x-': { description: 'Ignored: a place for YAML anchors (&name) that the runbook uses (*name, <<: *name).' } },
  };
}
