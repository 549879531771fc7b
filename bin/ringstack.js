#!/usr/bin/env node
// The operator's entry point. Sources are TypeScript run through tsx, so a
// checkout works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
