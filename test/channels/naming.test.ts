import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { broadcastingFor, channelName, serializeBroadcasting } from "../../src/channels/naming.js";

describe("broadcasting names (Rails naming.rb / broadcasting.rb)", () => {
  it("channelName", () => {
    assert.equal(channelName("ChatChannel"), "chat");
    assert.equal(channelName("UserNotificationsChannel"), "user_notifications");
    assert.equal(channelName("Admin::ChatChannel"), "admin:chat");
    assert.equal(channelName("HTMLChannel"), "html");
  });
  it("serializes models like to_gid_param / to_param", () => {
    const post = { toGlobalId: () => "gid://app/Post/1" };
    assert.equal(serializeBroadcasting(post), "Z2lkOi8vYXBwL1Bvc3QvMQ");
    assert.equal(broadcastingFor("comments", post), "comments:Z2lkOi8vYXBwL1Bvc3QvMQ");
    assert.equal(broadcastingFor("chat", { id: 42 }), "chat:42");
    assert.equal(broadcastingFor("chat", ["room", 7]), "chat:room:7");
    assert.equal(broadcastingFor("chat", { toParam: () => "slug" }), "chat:slug");
    assert.throws(() => serializeBroadcasting({} as never), TypeError);
  });
});
