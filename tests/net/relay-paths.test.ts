/** Path classification for the peer list: ICE candidate pairs, TCP remote addresses, relayed circuits. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BlockList } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { bestPath, classifyCandidatePair, classifyConnection, classifyIpAddress, parseCandidate } from '../../main/net/paths.ts'
import { stunUrlOf } from '../../main/net/host.ts'

const subnets = new BlockList()
subnets.addSubnet('192.168.1.0', 24, 'ipv4')
subnets.addSubnet('127.0.0.0', 8, 'ipv4')

const cand = (type: string, address: string): { type: string; address: string } => ({ type, address })

test('an ICE selected pair tells lan, direct (punched) and relayed (TURN) apart', () => {
  assert.equal(classifyCandidatePair({ local: cand('host', '192.168.1.5'), remote: cand('host', '192.168.1.9') }, subnets), 'lan')
  assert.equal(classifyCandidatePair({ local: cand('srflx', '203.0.113.7'), remote: cand('srflx', '198.51.100.2') }, subnets), 'direct')
  assert.equal(classifyCandidatePair({ local: cand('host', '10.0.0.2'), remote: cand('prflx', '11.0.0.3') }, subnets), 'direct')
  // Host candidates on a private range that is not ours (another home's LAN, reached through NAT): not lan.
  assert.equal(classifyCandidatePair({ local: cand('host', '192.168.1.5'), remote: cand('host', '10.9.9.9') }, subnets), 'direct')
  assert.equal(classifyCandidatePair({ local: cand('relay', '11.0.0.1'), remote: cand('srflx', '11.0.0.3') }, subnets), 'relayed')
  assert.equal(classifyCandidatePair({ local: cand('host', '192.168.1.5'), remote: cand('relay', '11.0.0.1') }, subnets), 'relayed')
})

test('ICE candidate lines are parsed for type and address', () => {
  assert.deepEqual(parseCandidate('a=candidate:1 1 UDP 2122317823 192.168.1.5 40000 typ host'), cand('host', '192.168.1.5'))
  assert.deepEqual(parseCandidate('candidate:2 1 UDP 1686052607 11.0.0.2 5000 typ srflx raddr 10.0.1.2 rport 40000'), cand('srflx', '11.0.0.2'))
  assert.equal(parseCandidate('garbage'), null)
  assert.equal(parseCandidate(''), null)
})

test('a TCP remote address is lan only on a private subnet of ours', () => {
  assert.equal(classifyIpAddress('192.168.1.20', subnets), 'lan')
  assert.equal(classifyIpAddress('127.0.0.1', subnets), 'lan')
  assert.equal(classifyIpAddress('10.1.2.3', subnets), 'direct') // private but not a subnet of ours (e.g. a VPN peer)
  assert.equal(classifyIpAddress('11.0.0.1', subnets), 'direct')
})

function fakeConn(addr: string, rtt?: number, pair?: { local: string; remote: string }): Connection {
  const maConn = pair === undefined ? {} : {
    peerConnection: { sctp: { transport: { iceTransport: { getSelectedCandidatePair: () => ({ local: { candidate: pair.local }, remote: { candidate: pair.remote } }) } } } },
  }
  return { remoteAddr: multiaddr(addr), status: 'open', rtt, maConn } as unknown as Connection
}

const RELAY = '/ip4/11.0.0.1/tcp/4001/p2p/12D3KooWSbSEgpXNF3VZNPPqWS3fD84rvm5zKBHfEYNP8gSCzYou'
const PEER = '12D3KooWJhUvWmywk4aCcAN32abCScFhYakL4AYiTyEUx2PKMwXz'

test('connections: a circuit is relayed; WebRTC is judged by its ICE pair, not by the address; the best path wins', () => {
  const circuit = fakeConn(`${RELAY}/p2p-circuit/p2p/${PEER}`, 40)
  const punched = fakeConn(`${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`, 3,
    { local: 'candidate:1 1 UDP 1 11.0.0.2 5000 typ srflx', remote: 'candidate:1 1 UDP 1 11.0.0.3 6000 typ srflx' })
  const turned = fakeConn(`${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`, 9,
    { local: 'candidate:1 1 UDP 1 11.0.0.1 3479 typ relay', remote: 'candidate:1 1 UDP 1 11.0.0.3 6000 typ srflx' })
  const notYet = fakeConn(`${RELAY}/p2p-circuit/webrtc/p2p/${PEER}`)
  assert.equal(classifyConnection(circuit, subnets), 'relayed')
  assert.equal(classifyConnection(punched, subnets), 'direct')
  assert.equal(classifyConnection(turned, subnets), 'relayed')
  assert.equal(classifyConnection(notYet, subnets), null)
  assert.equal(classifyConnection(fakeConn(`/ip4/192.168.1.7/tcp/9171/p2p/${PEER}`), subnets), 'lan')
  assert.deepEqual(bestPath([circuit, punched]), { connection: 'direct', rttMs: 3 })
  assert.deepEqual(bestPath([circuit, turned]), { connection: 'relayed', rttMs: 40 })
  assert.deepEqual(bestPath([]), { connection: null })
})

test('the STUN server of a relay is derived from its address, never a public default', () => {
  assert.equal(stunUrlOf(RELAY, 3478), 'stun:11.0.0.1:3478')
  assert.equal(stunUrlOf('/ip6/2001:db8::1/tcp/4001/p2p/x', 3478), 'stun:[2001:db8::1]:3478')
  assert.equal(stunUrlOf('/dns4/relay.example.org/tcp/4001/p2p/x', 9000), 'stun:relay.example.org:9000')
})
