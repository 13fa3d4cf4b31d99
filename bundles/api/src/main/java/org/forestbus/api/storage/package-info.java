/** Storage contracts: one topic's durable commit log ({@link org.forestbus.api.storage.LogStore}). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.forestbus.api.storage;
