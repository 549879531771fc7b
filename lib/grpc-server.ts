import { ServerCredentials, type Server } from '@grpc/grpc-js'
import { hostPort } from './host-port.ts'

/** Binds a gRPC server without TLS (loopback or a trusted network) and resolves with the port (the ephemeral one for 0). */
export async function bindInsecure (server: Server, host: string, port: number): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort(host, port), ServerCredentials.createInsecure(), (err, bound) => {
      if (err === null) resolve(bound)
      else reject(err)
    })
  })
}
