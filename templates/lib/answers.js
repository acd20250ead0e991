// Answer collection shared by every generator: flags after `--`, a JSON answers file, interactive prompts, defaults.
// Everything is validated BEFORE any action runs, so a bad answer writes nothing.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Generator flags: everything after `--` (`--name foo`, `--name=foo`, `--answers answers.json`, `--yes`). */
export function generatorFlags(argv = process.argv.slice(2)) {
  const dashes = argv.indexOf('--');
  if (dashes === -1) return {};
  const { tokens } = parseArgs({ args: argv.slice(dashes + 1), strict: false, allowPositionals: true, tokens: true });
  const flags = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind === 'positional')
      throw new Error(`unexpected argument "${token.value}": pass answers as --name value`);
    if (token.kind !== 'option') continue;
    const next = tokens[i + 1];
    if (token.value === undefined && next?.kind === 'positional') {
      flags[token.name] = next.value;
      i++;
    } else {
      flags[token.name] = token.value ?? true;
    }
  }
  return flags;
}

function readAnswersFile(path) {
  let parsed;
  try {
    parsed = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (error) {
    throw new Error(`cannot read answers file ${path}: ${error.message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`answers file ${path} must hold a JSON object`);
  return parsed;
}

function coerce(question, value) {
  if (question.type === 'confirm' && typeof value === 'string') {
    if (/^(y|yes|true)$/i.test(value)) return true;
    if (/^(n|no|false)$/i.test(value)) return false;
    throw new Error(`--${question.name}: expected yes or no, got "${value}"`);
  }
  if (question.type === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`--${question.name}: expected a number, got "${value}"`);
    return n;
  }
  if (value === true && question.type !== 'confirm') throw new Error(`--${question.name} needs a value`);
  return typeof value === 'string' ? value.trim() : value;
}

function valueOf(questionDefault, answers) {
  return typeof questionDefault === 'function' ? questionDefault(answers) : questionDefault;
}

/** A question's choices as the values an answer may take (a choice is a value or `{ name, value }`). */
const choiceValues = (question) => question.choices.map((c) => c.value ?? c);

/** `--help`: every answer a generator takes, with its default; hidden ones are answered by flag only. */
function usage(generator, questions) {
  const lines = questions.map((q) => {
    const def = valueOf(q.default, {});
    const notes = [
      q.when ? 'only for some answers' : '',
      q.hidden ? 'not prompted' : '',
      def !== undefined ? `default: ${def}` : 'required',
    ].filter(Boolean);
    const choices = q.choices ? ` (${choiceValues(q).join(', ')})` : '';
    return `  --${q.name.padEnd(12)} ${q.message}${choices} [${notes.join('; ')}]`;
  });
  return [
    `Usage: npm run generate -- ${generator} -- [--<answer> <value> ...] [--answers answers.json] [--yes]`,
    'Without answers, in a terminal, each is prompted; with some, the rest take their defaults.',
    '',
    'Answers:',
    ...lines,
  ].join('\n');
}

/**
 * Collects the answers of `questions`
 * ({ name, message, type?, choices?, default?, hidden?, when?(answers), validate?(value, answers) }).
 * Hidden questions are never prompted (their default applies) but can be answered by flag or file.
 * Non-interactive when any flag or answers file is given, with `--yes`, or when stdin is not a terminal: missing
 * answers then take their defaults. Throws (plop prints "[ERROR] <message>", exits 1) on the first invalid or
 * missing answer.
 */
export async function collectAnswers(generator, questions, inquirer, { flags = generatorFlags(), interactive } = {}) {
  const { answers: answersFile, yes, help, ...given } = flags;
  if (help) {
    console.log(usage(generator, questions));
    process.exit(0);
  }
  const provided = { ...(typeof answersFile === 'string' ? readAnswersFile(answersFile) : {}), ...given };
  const known = new Set(questions.map((q) => q.name));
  const unknown = Object.keys(provided).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `${generator}: unknown answer(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${[...known].join(', ')}`,
    );
  }
  const ask =
    interactive ??
    (Object.keys(provided).length === 0 && !yes && answersFile === undefined && process.stdin.isTTY === true);
  const answers = {};
  for (const question of questions) {
    if (question.when && !question.when(answers)) continue;
    let value;
    if (question.name in provided) {
      value = coerce(question, provided[question.name]);
    } else if (ask && !question.hidden) {
      const prompt = {
        type: question.type === 'number' ? 'input' : (question.type ?? 'input'),
        name: question.name,
        message: question.message,
      };
      const def = valueOf(question.default, answers);
      if (def !== undefined) prompt.default = def;
      if (question.choices) prompt.choices = question.choices;
      if (question.validate) prompt.validate = (input) => question.validate(coerce(question, input), answers);
      value = coerce(question, (await inquirer.prompt([prompt]))[question.name]);
    } else {
      value = valueOf(question.default, answers);
      if (value === undefined) throw new Error(`${generator}: --${question.name} is required (${question.message})`);
    }
    if (question.choices && !choiceValues(question).includes(value)) {
      throw new Error(
        `${generator}: --${question.name} must be one of ${choiceValues(question).join(', ')}, got "${value}"`,
      );
    }
    const verdict = question.validate ? await question.validate(value, answers) : true;
    if (verdict !== true) throw new Error(`${generator}: --${question.name} "${value}": ${verdict}`);
    answers[question.name] = value;
  }
  return answers;
}

/** Re-validates a complete answer set: actions may run programmatically, with answers that never saw a prompt. */
export async function validateAnswers(generator, questions, answers) {
  for (const question of questions) {
    if (question.when && !question.when(answers)) continue;
    const value = answers[question.name];
    if (value === undefined) throw new Error(`${generator}: answer "${question.name}" is missing`);
    const verdict = question.validate ? await question.validate(value, answers) : true;
    if (verdict !== true) throw new Error(`${generator}: "${question.name}" = "${value}": ${verdict}`);
  }
}
