import { connect } from 'node:http2'
import test from 'ava'
import { NodeProcess } from './node-process.ts'

test('a node offers uploads an 8 MiB HTTP/2 window per stream and per connection, not 64 KiB', async (t) => {
  const node = await NodeProcess.start(t)
  const session = connect(`http://${node.address}`)
  t.teardown(() => { session.destroy() })
  const settings = await new Promise<import('node:http2').Settings>((resolve, reject) => {
    session.once('remoteSettings', resolve)
    session.once('error', reject)
  })
  t.is(settings.initialWindowSize, 8 * 1024 * 1024)
  // The connection window arrives as a WINDOW_UPDATE right after the settings.
  for (let i = 0; i < 100 && (session.state.remoteWindowSize ?? 0) < 8 * 1024 * 1024; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.true((session.state.remoteWindowSize ?? 0) >= 8 * 1024 * 1024, `connection window ${session.state.remoteWindowSize}`)
})
