import type { Config } from '../../config.js';
import { currentTime } from './current-time.js';
import { FILE_TOOLS } from './files.js';
import { createFetchTool } from './http-fetch.js';
import { shellTool } from './shell.js';
import type { Tool } from './tool.js';

/**
 * The built-in tools this configuration provides (each still opt-in per agent), and the ones an
 * agents file may name but that are switched off here, with the reason.
 */
export function builtinTools(config: Pick<Config, 'fetchAllow' | 'fetchMaxBytes' | 'shellEnabled'>): { tools: Tool[]; disabled: Map<string, string> } {
  const tools = [currentTime, ...FILE_TOOLS, createFetchTool({ allow: config.fetchAllow, maxBytes: config.fetchMaxBytes })];
  const disabled = new Map<string, string>();
  if (config.shellEnabled) tools.push(shellTool);
  else disabled.set(shellTool.name, 'the shell tool is off (set AGENTSDK_SHELL=on to enable it)');
  return { tools, disabled };
}
