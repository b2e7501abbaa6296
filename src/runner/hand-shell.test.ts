import { describe, expect, it } from 'vitest';
import { EscapeReader } from './hand-shell.js';

describe("the shell's escape (Enter ~.)", () => {
  const typed = (reader: EscapeReader, text: string) => {
    const read = reader.read(Buffer.from(text));
    return { typed: read.typed.toString(), cut: read.cut };
  };

  it('cuts only at the start of a line, as in OpenSSH', () => {
    const reader = new EscapeReader();
    expect(typed(reader, 'ls ~.bashrc\r')).toEqual({ typed: 'ls ~.bashrc\r', cut: false });
    expect(typed(reader, '~.')).toEqual({ typed: '', cut: true });
    expect(typed(new EscapeReader(), '~.')).toEqual({ typed: '', cut: true });
  });

  it('holds a ~ at the start of a line until the next key, across reads; ~~ sends one ~', () => {
    const reader = new EscapeReader();
    expect(typed(reader, '~')).toEqual({ typed: '', cut: false });
    expect(typed(reader, '/bin\r')).toEqual({ typed: '~/bin\r', cut: false });
    expect(typed(reader, '~~.')).toEqual({ typed: '~.', cut: false });
    expect(typed(reader, 'x\n~')).toEqual({ typed: 'x\n', cut: false });
    expect(typed(reader, '.')).toEqual({ typed: '', cut: true });
  });

  it('passes every other byte through untouched (a UTF-8 name, Ctrl-C, Ctrl-D)', () => {
    const reader = new EscapeReader();
    const bytes = Buffer.from('é名\x03\x04');
    expect(reader.read(bytes).typed.equals(bytes)).toBe(true);
  });
});
