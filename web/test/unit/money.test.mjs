// Unit tests of the frontend's pure parts: node --test test/unit/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEuros, formatCents, showCents, showAmount, MAX_CENTS } from '../../src/money.js';
import { validIBAN, isOpenIBAN, normalizeIBAN, groupIBAN } from '../../src/iban.js';

test('parseEuros reads what people type', () => {
  const cases = [
    ['12', 1200], ['12,5', 1250], ['12,50', 1250], ['12.5', 1250], ['0,01', 1], ['€ 7', 700], [' 3 ', 300],
    ['1.234,56', 123456], ['1,234.56', 123456], ['1.234', 123400], ['1.234.567', 123456700], ['21.474.836,47', MAX_CENTS],
    [',5', 50], ['12.50', 1250], ['1,234,567', 123456700], ['1,234,567.89', 123456789], ['1 234,56', 123456], ['2.000', 200000],
  ];
  for (const [input, cents] of cases) assert.deepEqual(parseEuros(input), { cents }, input);
});

test('parseEuros refuses what is not an amount', () => {
  for (const input of ['', '  ', '0', '0,00', '-5', '\u22125', 'abc', '12,345,6', '1.2.3', '12,5050', '21.474.836,48', '99999999999', '1e5', '5 euro',
    '12.', '12,', '1.234.56', '1,234,56', '1.23,45', '01.234']) {
    const r = parseEuros(input);
    assert.ok(r.error, `${JSON.stringify(input)} gave ${JSON.stringify(r)}`);
  }
});

test('parseEuros never rounds: more than two decimals is refused', () => {
  for (const input of ['0,001', '0.001', '1,005', '12,5050', '1.2345', '0.100', '1.234,567']) {
    const r = parseEuros(input);
    assert.match(r.error ?? '', /^At most two digits after the (comma|point): amounts are not rounded/, input);
  }
  // A lone comma before three digits is cents to one reader, thousands to
  // another: refused, with the way to write thousands.
  for (const input of ['1,234', '12,345']) {
    assert.match(parseEuros(input).error ?? '', /For thousands, write 1\.234 or 1234\./, input);
  }
});

test('showCents writes a real minus sign', () => {
  assert.equal(showCents(-22750), '\u2212€227,50');
  assert.equal(showCents(50000), '€500,00');
  assert.equal(showAmount('-€5,00'), '\u2212€5,00');
});

test('formatCents writes euros as the API does', () => {
  const cases = [[0, '€0,00'], [1, '€0,01'], [-5, '-€0,05'], [123456, '€1.234,56'], [-123456789, '-€1.234.567,89'],
    [100_000_000_000, '€1.000.000.000,00']];
  for (const [cents, s] of cases) assert.equal(formatCents(cents), s);
});

test('IBANs are checked as the command handler checks them', () => {
  // Shared with topology/iban's tests.
  for (const s of ['NL66OPEN0000000000', 'NL91ABNA0417164300', 'GB82WEST12345698765432', 'DE89370400440532013000']) {
    assert.ok(validIBAN(s), s);
  }
  for (const s of ['NL66OPEN0000000001', 'NL00OPEN0000000000', 'nl66OPEN0000000000', 'NL66 OPEN 0000 0000 00', 'NL66', '']) {
    assert.ok(!validIBAN(s), s);
  }
  assert.ok(isOpenIBAN('NL66OPEN0000000000'));
  assert.ok(!isOpenIBAN('NL91ABNA0417164300'));
  assert.equal(normalizeIBAN(' nl66 open 0000 0000 00 '), 'NL66OPEN0000000000');
  assert.equal(groupIBAN('NL66OPEN0000000000'), 'NL66 OPEN 0000 0000 00');
});
