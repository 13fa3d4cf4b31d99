/**
 * Forest Bus client-facing contracts: {@link org.forestbus.api.TopicService}, the message
 * format ({@link org.forestbus.api.MessageBatch}), topic status values and the error model
 * ({@link org.forestbus.api.ForestBusException} with {@link org.forestbus.api.ErrorCode}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.forestbus.api;
