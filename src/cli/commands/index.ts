/**
 * The command registry: every command is one file in this folder, listed here once. The
 * dispatcher (`../main.ts`) and the top-level help read this list and nothing else.
 */
import type { CliCommand } from '../io.ts';
import { quote } from './quote.ts';

export const commands: readonly CliCommand[] = [quote];
