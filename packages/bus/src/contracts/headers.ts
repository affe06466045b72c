/** NATS message headers Switchboard sets or reads. */
export const natsHeaders = {
  /** JetStream de-duplication: a durable publish carries its event id, so a re-publish is stored once. */
  msgId: "Nats-Msg-Id",
} as const;
