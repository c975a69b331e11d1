import { version } from '../../package.json';
import { BATCH_USAGE, batchCommand } from './batch';
import { UsageError } from './connect';
import { EXPORT_USAGE, exportCommand } from './export';
import { HARVEST_USAGE, harvestCommand } from './harvest';
import { REPORT_USAGE, reportCommand } from './report';
import { RUN_USAGE, runCommand } from './run';
import { VERIFY_USAGE, verifyCommand } from './verify';

/** One `aiev` subcommand: its help text and what runs it (resolving to the exit status). */
interface ICommand {
  summary: string;
  usage: string;
  run: (argv: string[], log: (line: string) => void) => Promise<number>;
}

const COMMANDS: Record<string, ICommand> = {
  run: { summary: 'Run the agent on a notebook against a Jupyter server', usage: RUN_USAGE, run: runCommand },
  batch: { summary: 'Run a task suite: k rollouts per task, verified, pass@k', usage: BATCH_USAGE, run: batchCommand },
  verify: { summary: "Replay a record's final notebook in a fresh kernel and give a verdict", usage: VERIFY_USAGE, run: verifyCommand },
  export: { summary: 'Project one record to a training format (secrets scrubbed)', usage: EXPORT_USAGE, run: exportCommand },
  harvest: { summary: 'Turn records and executed notebooks into one dataset', usage: HARVEST_USAGE, run: harvestCommand },
  report: { summary: "Summarise a classroom's collection folder (table, JSON, HTML)", usage: REPORT_USAGE, run: reportCommand }
};

const USAGE = `Usage: aiev <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join('\n')}
  version   Print the version

Run 'aiev <command> --help' for a command's options.
`;

const stderrLine = (line: string) => process.stderr.write(`${line}\n`);

/** The `aiev` command line; returns the process exit code. */
export async function runCli(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    out.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    out.write(`${version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`aiev: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, stderrLine);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`aiev ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
