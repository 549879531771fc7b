export { NbdServer, type NbdServerComponents, type NbdServerOptions } from './nbd-server.ts'
