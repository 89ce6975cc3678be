// The pieces of a customer's identity that are plain functions: the browser's preferred language from
// its Accept-Language header, how contacts are masked for agents, and how emails are compared.
import { preferredLanguage } from '../../../chat/customer-directory.js';
import { maskEmail, maskPhone } from '../../../context/customer-context.js';
import { normaliseEmail } from '../../../context/email-verification.js';

test('the most preferred plain language tag wins; junk and wildcards give none', () => {
  expect(preferredLanguage('fi-FI,fi;q=0.9,en;q=0.8')).toBe('fi-FI');
  expect(preferredLanguage('en;q=0.5, sv;q=0.9, de;q=0.7')).toBe('sv');
  expect(preferredLanguage('*;q=1, de')).toBe('de');
  expect(preferredLanguage('fr;q=0, it')).toBe('it');
  expect(preferredLanguage(['pt-BR', 'en'])).toBe('pt-BR');
  for (const junk of [undefined, '', '*', '<script>', 'x'.repeat(600), 'en;q=abc', 'toolonglanguage']) expect(preferredLanguage(junk)).toBeNull();
});

test('agents see enough of a contact to recognise it, not to use it', () => {
  expect(maskEmail('jo.smith@example.com')).toBe('j•••@example.com');
  expect(maskPhone('+358401234567')).toBe('+3584•••••567');
  expect(normaliseEmail('  Jo.Smith@Example.COM ')).toBe('jo.smith@example.com');
});
