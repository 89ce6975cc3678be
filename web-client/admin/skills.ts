// "skill:level" text ⇄ SkillLevel list, for the account form.

export interface SkillLevel {
  skill: string;
  level: number;
}

/** Parses "billing:5, technical:3" (commas, semicolons or spaces between). Throws with a readable message. */
export function parseSkills(text: string): SkillLevel[] {
  const out: SkillLevel[] = [];
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^([a-z0-9_-]{1,40}):(\d{1,2})$/.exec(part.toLowerCase());
    const level = m ? Number(m[2]) : NaN;
    if (!m || level < 1 || level > 10) {
      throw new Error(`"${part}" is not a skill: write name:level, e.g. billing:5 (level 1 to 10).`);
    }
    if (out.some((s) => s.skill === m[1])) throw new Error(`The skill "${m[1]}" is listed twice.`);
    out.push({ skill: m[1]!, level });
  }
  return out;
}

export function formatSkills(skills: SkillLevel[]): string {
  return skills.map((s) => `${s.skill}:${s.level}`).join(', ');
}

/** Parses "en, fr" into language codes. */
export function parseLanguages(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const code = part.toLowerCase();
    if (!/^[a-z]{2,3}$/.test(code)) throw new Error(`"${part}" is not a language code: use two or three letters, e.g. en.`);
    if (!out.includes(code)) out.push(code);
  }
  return out;
}
