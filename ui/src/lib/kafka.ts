// Kafka facts the UI needs: legal topic names and the common topic configs with their defaults.

export function topicNameError(name: string): string | null {
  if (!name) return 'A topic needs a name.';
  if (name === '.' || name === '..') return 'A topic cannot be named "." or "..".';
  if (name.length > 249) return 'A topic name has at most 249 characters.';
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return 'Use only letters, digits, ".", "_" and "-".';
  return null;
}

export interface ConfigSpec {
  name: string;
  default: string;
  kind: 'enum' | 'long' | 'int';
  options?: string[];
  doc: string;
}

export const COMMON_CONFIGS: ConfigSpec[] = [
  { name: 'cleanup.policy', default: 'delete', kind: 'enum', options: ['delete', 'compact', 'compact,delete'], doc: 'delete removes old segments; compact keeps the latest record per key.' },
  { name: 'retention.ms', default: '604800000', kind: 'long', doc: 'How long records are kept (ms); 7 days by default, -1 keeps them forever.' },
  { name: 'retention.bytes', default: '-1', kind: 'long', doc: 'Largest size a partition may grow to before old segments are deleted; -1 means no limit.' },
  { name: 'segment.bytes', default: '1073741824', kind: 'int', doc: 'Size of one log segment file (1 GiB by default).' },
  { name: 'min.insync.replicas', default: '1', kind: 'int', doc: 'Replicas that must acknowledge a write with acks=all.' },
  { name: 'max.message.bytes', default: '1048588', kind: 'int', doc: 'Largest record batch the broker accepts.' },
  { name: 'compression.type', default: 'producer', kind: 'enum', options: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], doc: 'producer keeps the producer\'s compression.' },
  { name: 'message.timestamp.type', default: 'CreateTime', kind: 'enum', options: ['CreateTime', 'LogAppendTime'], doc: 'Whose clock stamps records: the producer\'s or the broker\'s.' },
];

/** Client-side check of a numeric config value; the broker has the last word. */
export function configValueError(spec: ConfigSpec | undefined, value: string): string | null {
  if (!spec || value === '') return null;
  if (spec.kind === 'enum') {
    const parts = value.split(',').map((s) => s.trim());
    return parts.every((p) => spec.options!.includes(p)) ? null : `One of: ${spec.options!.join(', ')}.`;
  }
  if (!/^-?\d+$/.test(value.trim())) return 'A whole number.';
  return null;
}

/** Which field an error from the broker is about, so it can be shown next to that field. */
/**
 * `setConfigs` are the configs the request set: when the broker only says INVALID_CONFIG and one
 * config was set, that one is the culprit.
 */
export function errorField(message: string, kafkaError: string | null, configNames: string[], setConfigs: string[] = []): string | null {
  const k = (kafkaError ?? '').toUpperCase();
  if (k.includes('TOPIC_ALREADY_EXISTS') || k.includes('INVALID_TOPIC')) return 'name';
  if (k.includes('INVALID_PARTITIONS')) return 'partitions';
  if (k.includes('INVALID_REPLICATION_FACTOR') || k.includes('INVALID_REPLICA_ASSIGNMENT')) return 'replication_factor';
  const m = message.toLowerCase();
  const sorted = [...configNames].sort((a, b) => b.length - a.length);
  for (const n of sorted) if (m.includes(n.toLowerCase())) return n;
  if (k.includes('INVALID_CONFIG') && setConfigs.length === 1) return setConfigs[0];
  if (m.includes('replication factor') || m.includes('replication_factor')) return 'replication_factor';
  if (m.includes('already exists') || m.includes('topic name')) return 'name';
  if (m.includes('partitions')) return 'partitions';
  return null;
}
