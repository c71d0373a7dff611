// The `hotmod/status` notification -> what the status bar item shows.
// No `vscode` import here: this module is unit-tested under plain node.

export const STATUS_NOTIFICATION = 'hotmod/status';

export interface StatusParams {
  state: 'checking' | 'idle' | 'untrusted' | 'error' | string;
  modules: number;
  broken: number;
  /** Running programs that take the workspace's changes (live reload). */
  live: number;
  message: string;
}

/** The client's own states, before or without the server's notifications. */
export type ClientState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
  /** Status bar text, with `$(icon)` syntax. */
  text: string;
  tooltip: string;
  /** Background: `error` / `warning` theme colours, or none. */
  severity?: 'error' | 'warning';
}

const CLICK = 'Click to show the hotmod output.';

/** Reads a notification's params, tolerating missing or mistyped fields. */
export function parseStatus(params: unknown): StatusParams | undefined {
  if (params === null || typeof params !== 'object') {
    return undefined;
  }
  const p = params as Record<string, unknown>;
  if (typeof p.state !== 'string') {
    return undefined;
  }
  const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    state: p.state,
    modules: count(p.modules),
    broken: count(p.broken),
    live: count(p.live),
    message: typeof p.message === 'string' ? p.message : '',
  };
}

function modulesLine(status: StatusParams): string {
  const taking =
    status.live > 0 ? `; ${status.live} running program${status.live === 1 ? ' takes' : 's take'} its changes` : '';
  return `${status.modules} module${status.modules === 1 ? '' : 's'}, ${status.broken} broken${taking}`;
}

/** ` · live 2` (or `live 2` alone) when running programs take the changes. */
function live(status: StatusParams, alone: boolean): string {
  if (status.live <= 0) {
    return '';
  }
  return `${alone ? ': ' : ' · '}live ${status.live}`;
}

export function statusView(client: ClientState, status?: StatusParams): StatusView {
  if (client === 'starting') {
    return { text: '$(loading~spin) hotmod', tooltip: `hotmod: starting the server. ${CLICK}` };
  }
  if (client === 'stopped') {
    return { text: '$(circle-slash) hotmod', tooltip: `hotmod: the server is not running. ${CLICK}` };
  }
  if (client === 'failed') {
    return {
      text: '$(error) hotmod: no server',
      tooltip: `hotmod: the server could not be started. ${CLICK}`,
      severity: 'error',
    };
  }
  if (status === undefined) {
    return { text: '$(loading~spin) hotmod', tooltip: `hotmod: waiting for the first check. ${CLICK}` };
  }
  const detail = status.message ? `hotmod: ${status.message}` : 'hotmod';
  switch (status.state) {
    case 'checking':
      return {
        text: '$(sync~spin) hotmod: checking',
        tooltip: `${detail}\n${modulesLine(status)} at the last check. ${CLICK}`,
      };
    case 'idle':
      if (status.broken > 0) {
        return {
          text: `$(error) hotmod: ${status.broken} broken${live(status, false)}`,
          tooltip: `${detail}\n${modulesLine(status)}. ${CLICK}`,
          severity: 'error',
        };
      }
      return { text: `$(check) hotmod${live(status, true)}`, tooltip: `${detail}\n${modulesLine(status)}. ${CLICK}` };
    case 'untrusted':
      return {
        text: '$(shield) hotmod: untrusted',
        tooltip: `${detail}\nThe workspace is not trusted: no code is run, only syntax is checked. ${CLICK}`,
        severity: 'warning',
      };
    case 'error':
      return { text: '$(warning) hotmod: error', tooltip: `${detail}\n${CLICK}`, severity: 'warning' };
    default:
      return { text: `hotmod: ${status.state}`, tooltip: `${detail}\n${CLICK}` };
  }
}
