import type { Http2Server, Http2Session } from 'node:http2'
import type { Server } from '@grpc/grpc-js'
import type { Logger } from '../lib/logger.ts'

/** Bytes a client may have in flight per upload stream and per connection. */
export const RECEIVE_WINDOW_BYTES = 8 * 1024 * 1024

interface GrpcServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> }
  http2Servers?: Map<Http2Server, unknown>
}

/**
 * grpc-js has no server option for the HTTP/2 receive windows (its client
 * has 'grpc-node.flow_control_window'; upstream grpc/grpc-node#3058), so
 * every upload is held to Node's 64 KiB default: a 1 MiB chunk then needs
 * sixteen window round trips between two busy event loops. These widen the
 * per-stream window (SETTINGS_INITIAL_WINDOW_SIZE, before bind) and the
 * connection window (on each new session), as the grpc-js client does for
 * downloads. They reach into grpc-js internals, checked at run time: if
 * those are gone the node logs it and keeps the defaults.
 */
export function widenStreamWindow (server: Server, logger: Logger): void {
  const internals = server as unknown as GrpcServerInternals
  if (internals.commonServerOptions === undefined) {
    logger.warn('grpc-js internals changed: uploads keep the 64 KiB HTTP/2 stream window')
    return
  }
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: RECEIVE_WINDOW_BYTES }
}

export function widenConnectionWindow (server: Server, logger: Logger): void {
  const servers = (server as unknown as GrpcServerInternals).http2Servers
  if (servers === undefined) {
    logger.warn('grpc-js internals changed: uploads keep the 64 KiB HTTP/2 connection window')
    return
  }
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: Http2Session) => { session.setLocalWindowSize(RECEIVE_WINDOW_BYTES) })
  }
}
