#!/usr/bin/env node
// bitskip-data: prepare TinyStories token shards, print their stats, decode sample windows.
import { main } from './commands.js';

process.exitCode = await main(process.argv.slice(2));
