import { csvCell, toCsv } from '../../../charging/csv.js';

describe('csv', () => {
  test('quotes as RFC 4180 says', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(42)).toBe('42');
    expect(toCsv(['a', 'b'], [['x', 1], ['y,z', null]])).toBe('a,b\r\nx,1\r\n"y,z",\r\n');
  });

  test('text that a spreadsheet would run as a formula is defused', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1+1')).toBe("'+1+1");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell('a=b')).toBe('a=b');
    // Our own numbers keep their sign.
    expect(csvCell(-5)).toBe('-5');
  });
});
