export { Gateway, type GatewayComponents, type GatewayConfig } from './gateway.ts'
export { runGateway } from './main.ts'
export { loadGatewayConfig, type GatewayFileConfig } from './config.ts'
export {
  ensureAdminCredentials, ensureBootstrapCredentials, readAdminCredentials, readBootstrapCredentials, type AdminCredentials, type BootstrapCredentials
} from './bootstrap-credentials.ts'
export { MemoryCredentialStore, type CredentialStore } from './s3/auth/index.ts'
export { NbdServer, type NbdServerComponents, type NbdServerOptions } from './nbd/index.ts'
