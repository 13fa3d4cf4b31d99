package org.forestbus.api;

public final class TopicNotFoundException extends ForestBusException {
    private static final long serialVersionUID = 1L;

    public TopicNotFoundException(String topic) {
        super(ErrorCode.TOPIC_NOT_FOUND, "topic not found: " + topic);
    }
}
