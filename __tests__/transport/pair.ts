/** Two transport nodes on 127.0.0.1 shared by one test file (opened before its tests, closed after them). */
import { Identity } from '../../ts';
import { Link, TransportNode } from '../../ts/transport';

export interface NodePair {
  readonly a: TransportNode;
  readonly b: TransportNode;
  /** A dials B over `transport`; resolves with [dialled, accepted]. */
  connect(transport: 'quic' | 'tcp'): Promise<[Link, Link]>;
}

/** Registers the beforeAll/afterAll hooks that open and close the pair. */
export function useNodePair(): NodePair {
  let nodes: [TransportNode, TransportNode] | undefined;
  const get = (): [TransportNode, TransportNode] => {
    if (!nodes) throw new Error('the node pair is open only inside tests');
    return nodes;
  };
  beforeAll(async () => {
    nodes = await Promise.all([TransportNode.listen(Identity.generate()), TransportNode.listen(Identity.generate())]);
  });
  afterAll(async () => {
    await Promise.all(get().map((n) => n.close()));
  });
  return {
    get a() {
      return get()[0];
    },
    get b() {
      return get()[1];
    },
    async connect(transport) {
      const [a, b] = get();
      const accepted = b.accept();
      const dialed = await a.dial({ quic: b.addresses.quic, tcp: b.addresses.tcp, transport });
      return [dialed, await accepted];
    },
  };
}
