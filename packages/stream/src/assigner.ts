import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * Gives partition N of EVERY input topic to the same member, so a task (partition number) sees all
 * events of its keys across topics: the precondition of a keyed join. Input topics must be
 * co-partitioned (same partition count, same key partitioner), as in Kafka Streams.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'RtmlCoPartitioned',
  version: 0,
  async assign({ members, topics }) {
    const sortedMembers = members.map((member) => member.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>();
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const member = sortedMembers[partitionId % sortedMembers.length]!;
        const topicsOfMember = assignment.get(member) ?? {};
        topicsOfMember[topic] = [...(topicsOfMember[topic] ?? []), partitionId];
        assignment.set(member, topicsOfMember);
      }
    }
    return sortedMembers.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: assignment.get(memberId) ?? {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'RtmlCoPartitioned',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
