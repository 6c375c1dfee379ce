/**
 * The command registry: every command is one file in this folder, listed here once. The
 * dispatcher (`../main.ts`) and the top-level help read this list and nothing else.
 */
import type { CliCommand } from '../io.ts';
import { accounts } from './accounts.ts';
import { backup } from './backup.ts';
import { claim } from './claim.ts';
import { demo } from './demo.ts';
import { entries } from './entries.ts';
import { orgs } from './orgs.ts';
import { quote } from './quote.ts';
import { replay } from './replay.ts';
import { restore } from './restore.ts';
import { serve } from './serve.ts';
import { statement } from './statement.ts';
import { tokens } from './tokens.ts';
import { usageCredits } from './usage-credits.ts';
import { verify } from './verify.ts';

export const commands: readonly CliCommand[] = [
  serve,
  tokens,
  orgs,
  accounts,
  claim,
  usageCredits,
  statement,
  entries,
  verify,
  backup,
  restore,
  quote,
  replay,
  demo,
];
