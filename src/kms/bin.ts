#!/usr/bin/env node
// `node dist/src/kms/bin.js <command>` is `mikey kms <command>` (for process managers and tests).
import { kmsCommand } from '../cli/kms.js';

process.exitCode = await kmsCommand(process.argv.slice(2));
