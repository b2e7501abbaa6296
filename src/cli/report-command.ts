// nightshift report: a session's journal and logs in, an HTML page and Markdown (and an
// asciicast when asked) out.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { asciicastOf } from '../report/asciicast.js';
import { attemptKey, logExcerptOf, missingLog, REPORT_LOG_LINES, shellKey, type LogExcerpt } from '../report/log-excerpt.js';
import { reportHtml } from '../report/report-html.js';
import { reportMarkdown } from '../report/report-markdown.js';
import { sessionRecordOf, type SessionRecord } from '../report/session-record.js';
import { readJournalChecked } from '../store/journal.js';
import { readLogTail } from '../store/log-tail.js';
import { findSessionDir, SessionNotFoundError } from '../store/session-lookup.js';
import { sessionsGoingAgainFrom } from '../store/session-links.js';
import type { Out } from './runbook-commands.js';
import { EXIT } from './exit.js';
import { UserError } from './user-error.js';

export interface ReportOptions {
  sessionId?: string;
  /** Absolute path of the HTML page; the Markdown goes beside it. */
  output?: string;
  /** Absolute path of an asciicast to write as well. */
  cast?: string;
}

export async function reportCommand(options: ReportOptions, out: Out): Promise<number> {
  let sessionDir: string;
  try {
    sessionDir = findSessionDir(options.sessionId, process.env);
  } catch (error) {
    if (error instanceof SessionNotFoundError) throw new UserError(error.message);
    throw error;
  }
  const record = sessionRecordOf(readJournalChecked(path.join(sessionDir, 'journal.jsonl')));
  record.session ||= path.basename(sessionDir);
  // The sessions that went again from this one name it; it names none of them itself.
  const goneAgainIn = sessionsGoingAgainFrom(path.basename(sessionDir));
  if (goneAgainIn.length > 0) record.goneAgainIn = goneAgainIn;
  const logs = readLogs(sessionDir, record);
  const htmlFile = options.output ?? path.join(sessionDir, 'report.html');
  const markdownFile = `${htmlFile.slice(0, htmlFile.length - path.extname(htmlFile).length)}.md`;
  const paths = { sessionDir };

  writeFileSync(htmlFile, reportHtml(record, logs, paths));
  out.stdout(`${htmlFile}\n`);
  writeFileSync(markdownFile, reportMarkdown(record, logs, paths));
  out.stdout(`${markdownFile}\n`);
  if (options.cast) {
    writeFileSync(options.cast, asciicastOf(record, logs));
    out.stdout(`${options.cast}\n`);
  }
  for (const warning of record.warnings) out.stderr(`nightshift: ${warning}\n`);
  return EXIT.completed;
}

function readLogs(sessionDir: string, record: SessionRecord): Map<string, LogExcerpt> {
  const logs = new Map<string, LogExcerpt>();
  const read = (key: string, file: string) => {
    const absolute = path.resolve(sessionDir, file);
    if (path.relative(sessionDir, absolute).startsWith('..')) {
      logs.set(key, missingLog(file, 'the journal names a file outside the session folder; it was not read'));
      return;
    }
    try {
      const tail = readLogTail(absolute, REPORT_LOG_LINES, { countBefore: true });
      logs.set(key, logExcerptOf(file, tail.text, tail.linesBefore));
    } catch (error) {
      logs.set(key, missingLog(file, `could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`));
    }
  };
  for (const attempt of record.attempts) if (attempt.output) read(attemptKey(attempt), attempt.output.file);
  for (const shell of record.shells ?? []) read(shellKey(shell), shell.file);
  return logs;
}
